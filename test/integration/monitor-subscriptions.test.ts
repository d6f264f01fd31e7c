// Subscriptions per cockpit, through the real browser host: two tabs watch the same database; one
// stopping its view leaves the other's panels live, and the other tab's socket going away (closed,
// crashed) stops the sampling it held.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MonitorState } from '../../shared/monitor';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { describeWith } from '../support/servers';

describeWith('postgres', 'monitor subscriptions per browser tab', (server) => {
  let dir: string;
  let core: Core;
  let host: RunningHost;
  let profileId: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-subs-'));
    fs.mkdirSync(path.join(dir, 'renderer'));
    fs.writeFileSync(path.join(dir, 'renderer', 'index.html'), '<!doctype html><title>t</title>');
    core = await createCore({ transport: 'host', dataDir: path.join(dir, 'core'), secretStore: new MemorySecretStore() });
    host = await startHost({ core, port: 0, rendererDir: path.join(dir, 'renderer') });
    const saved = await core.dispatch('profiles/save', {
      profile: { name: 'watched', engine: 'postgres', environment: 'staging', host: server.host, port: server.port, database: server.database, user: server.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': server.password },
    });
    if (!saved.ok) throw new Error(saved.error.message);
    profileId = (saved.result as { profile: { id: string } }).profile.id;
  });
  afterAll(async () => {
    await host?.close();
    await core?.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A browser tab: a socket with the token, and a call function. */
  async function tab() {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api?token=${host.token}`, { origin: `http://127.0.0.1:${host.port}` });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let next = 1;
    const pending = new Map<number, (m: { ok: boolean; result?: unknown; error?: { code: string } }) => void>();
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'result') pending.get(m.id)?.(m);
    });
    const call = (method: string, input: unknown) =>
      new Promise<{ ok: boolean; result?: unknown }>((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ type: 'call', id, method, input }));
      });
    return { ws, call };
  }

  const stateOf = async () => {
    const r = await core.dispatch('monitor/states', {});
    return ((r.ok ? r.result : []) as MonitorState[]).find((s) => s.profileId === profileId)?.state;
  };

  it('keeps sampling while another tab still watches, and stops when the last watcher goes away', { timeout: 30_000 }, async () => {
    const a = await tab();
    const b = await tab();
    expect((await a.call('monitor/start', { profileId, intervalMs: 500 })).ok).toBe(true);
    expect((await b.call('monitor/start', { profileId, intervalMs: 500 })).ok).toBe(true);
    await expect.poll(stateOf, { timeout: 10_000 }).toBe('live');
    expect(core.services.subscriptions.watching(profileId)).toBe(2);

    // Tab A leaves the Health view: tab B is still watching.
    expect((await a.call('monitor/stop', { profileId })).ok).toBe(true);
    expect(core.services.subscriptions.watching(profileId)).toBe(1);
    const before = (await core.dispatch('monitor/latest', { profileId })) as { ok: true; result: { time: number } };
    await expect.poll(async () => ((await core.dispatch('monitor/latest', { profileId })) as { ok: true; result: { time: number } }).result.time, { timeout: 5000 }).toBeGreaterThan(before.result.time);
    expect(await stateOf()).toBe('live');

    // Tab B's socket goes away without a word (closed tab, lost network): its subscription ends.
    b.ws.terminate();
    await expect.poll(stateOf, { timeout: 5000 }).toBe('stopped');
    expect(core.services.subscriptions.watching(profileId)).toBe(0);
    a.ws.close();
  });
});

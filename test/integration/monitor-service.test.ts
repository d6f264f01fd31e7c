// The monitor service through the core, as the cockpit uses it: samples arrive at the interval and
// fill the history; a server that goes away marks the target stale with the time of its last good
// sample, and sampling resumes by itself when it is back; signalling a session asks for a typed
// confirmation on production and is refused in watch-only mode.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileSummary } from '../../shared/api';
import type { MonitorState, Sample, Series } from '../../shared/monitor';
import { createCore, type Core } from '../../main/core';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { PostgresCluster } from '../../main/servers/postgres-cluster';
import { freePort } from '../support/ports';
import { describeWith } from '../support/servers';

async function call<T>(core: Core, method: string, input: unknown = {}): Promise<T> {
  const outcome = await core.dispatch(method, input);
  if (!outcome.ok) throw Object.assign(new Error(`${outcome.error.code}: ${outcome.error.message}`), outcome.error);
  return outcome.result as T;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-monitor-'));
  fs.chmodSync(dir, 0o755);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('monitor service on a server that goes away and comes back', () => {
  let cluster: PostgresCluster;
  let core: Core;

  beforeAll(async () => {
    cluster = new PostgresCluster({ dataDir: path.join(dir, 'pg'), port: await freePort(), superuserPassword: 'monitor-test', superuser: 'flightdeck', noSync: true, name: 'fd-monitor-test' });
    await cluster.init();
    await cluster.start();
    core = await createCore({ transport: 'host', dataDir: path.join(dir, 'core'), secretStore: new MemorySecretStore() });
  });
  afterAll(async () => {
    await core?.shutdown();
    await cluster?.stop('immediate').catch(() => undefined);
  });

  it('samples at the interval, goes stale when the server stops, and resumes when it is back', async () => {
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { name: 'flaky', engine: 'postgres', environment: 'staging', host: '127.0.0.1', port: cluster.port, database: 'postgres', user: 'flightdeck', tls: { mode: 'disable' }, connectTimeoutMs: 1000 },
      secrets: { 'db-password': 'monitor-test' },
    });
    const id = saved.profile.id;
    const samples: Sample[] = [];
    const states: MonitorState[] = [];
    core.events.subscribe((e) => {
      if (e.event === 'monitor/sample' && e.payload.profileId === id) samples.push(e.payload);
      if (e.event === 'monitor/state' && e.payload.profileId === id) states.push(e.payload);
    });
    await call(core, 'monitor/start', { profileId: id, intervalMs: 250 });
    await expect.poll(() => samples.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    expect(states.at(-1)).toMatchObject({ state: 'live' });
    // From the second gap on: the first sample comes after the connect, inside the first interval.
    const gaps = samples.slice(2).map((s, i) => s.time - samples[i + 1]!.time);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(200);
    expect(samples.at(-1)!.pool!.max).toBeGreaterThan(0);

    await cluster.stop('fast');
    await expect.poll(() => states.at(-1)?.state, { timeout: 10_000 }).toBe('stale');
    const stale = states.at(-1)!;
    expect(stale.lastGoodAt).toBe(samples.at(-1)!.time);
    expect(stale.lastError?.code).toMatch(/CONNECTION_LOST|CONNECTION_REFUSED|CONNECT_TIMEOUT/);

    const before = samples.length;
    await cluster.start();
    await expect.poll(() => states.at(-1)?.state, { timeout: 20_000 }).toBe('live');
    await expect.poll(() => samples.length, { timeout: 10_000 }).toBeGreaterThan(before + 1);

    const series = await call<Series[]>(core, 'monitor/series', { profileId: id, keys: ['pool.total', 'sample.durationMs'], points: 100 });
    expect(series[0]!.points.length).toBe(samples.length);
    const csv = await call<{ filename: string; csv: string }>(core, 'monitor/export-csv', { profileId: id, keys: ['pool.total'], from: samples[0]!.time, to: samples.at(-1)!.time });
    expect(csv.csv.split('\n')[0]).toBe('time,pool.total');
    expect(csv.csv.trim().split('\n').length).toBe(samples.length + 1);
    expect(csv.filename).toMatch(/^flaky-.*\.csv$/);

    await call(core, 'monitor/stop', { profileId: id });
    const count = samples.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(samples.length).toBe(count);
  });
});

describeWith('postgres', 'signalling sessions from the panels', (s) => {
  it('asks for the profile name on production, then terminates the session; watch-only refuses', async () => {
    const core = await createCore({ transport: 'host', dataDir: path.join(dir, 'signal'), secretStore: new MemorySecretStore() });
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { name: 'Orders prod', engine: 'postgres', environment: 'production', host: s.host, port: s.port, database: s.database, user: s.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': s.password },
    });
    const id = saved.profile.id;
    await call(core, 'monitor/start', { profileId: id, intervalMs: 500 });
    await expect.poll(async () => (await call<Sample | null>(core, 'monitor/latest', { profileId: id }))?.pool?.max ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    const victim = new pg.Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database, application_name: 'fd-signal-victim' });
    await victim.connect();
    victim.on('error', () => undefined);
    const pid = (await victim.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    try {
      const refused = await core.dispatch('monitor/signal-backend', { profileId: id, pid, action: 'terminate' });
      expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', hint: 'Type the profile name "Orders prod" to confirm.' } });
      const wrong = await core.dispatch('monitor/signal-backend', { profileId: id, pid, action: 'terminate', confirm: 'orders prod' });
      expect(wrong).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      const done = await call<{ signalled: boolean }>(core, 'monitor/signal-backend', { profileId: id, pid, action: 'terminate', confirm: 'Orders prod' });
      expect(done.signalled).toBe(true);
      await expect(victim.query('select 1')).rejects.toThrow();
    } finally {
      await victim.end().catch(() => undefined);
      await core.shutdown();
    }
    const watch = await createCore({ transport: 'host', dataDir: path.join(dir, 'signal'), secretStore: new MemorySecretStore(), watchOnly: true });
    expect(await watch.dispatch('monitor/signal-backend', { profileId: id, pid, action: 'cancel', confirm: 'Orders prod' })).toMatchObject({ ok: false, error: { code: 'WATCH_ONLY' } });
    await watch.shutdown();
  });
});

// The core through its dispatcher, as every transport sees it: profiles, secrets that never come
// back, tests against a real server, watch-only refusals and errors as {code, message, hint}.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileSummary, TestResult } from '../../shared/api';
import { createCore, type Core } from '../../main/core';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { describeWith } from '../support/servers';

let dataDir: string;
beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-core-'));
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function call<T>(core: Core, method: string, input: unknown = {}): Promise<T> {
  const outcome = await core.dispatch(method, input);
  if (!outcome.ok) throw Object.assign(new Error(outcome.error.message), outcome.error);
  return outcome.result as T;
}

describe('dispatcher', () => {
  it('validates input against the contract and answers with code, message and hint', async () => {
    const core = await createCore({ transport: 'host', dataDir: path.join(dataDir, 'v'), secretStore: new MemorySecretStore() });
    const unknown = await core.dispatch('profiles/explode', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const bad = await core.dispatch('profiles/save', { profile: { name: 'x', engine: 'oracle', environment: 'production', host: 'h', port: 1 } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('INVALID_INPUT');
      expect(bad.error.message).toContain('profile.engine');
      expect(bad.error.hint.length).toBeGreaterThan(5);
      expect(JSON.stringify(bad.error)).not.toMatch(/at .*\.ts:\d+/);
    }
    const missing = await core.dispatch('connections/test', { id: 'nope' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'PROFILE_NOT_FOUND' } });
    await core.shutdown();
  });

  it('refuses every changing call in watch-only mode, and allows reading', async () => {
    const core = await createCore({ transport: 'host', dataDir: path.join(dataDir, 'w'), secretStore: new MemorySecretStore(), watchOnly: true });
    for (const [method, input] of [
      ['profiles/save', { profile: { name: 'x', engine: 'postgres', environment: 'staging', host: 'h', port: 5432 } }],
      ['profiles/delete', { id: 'x' }],
      ['profiles/duplicate', { id: 'x' }],
      ['sandbox/start', {}],
      ['ssh/trust-host-key', { challengeId: 'x' }],
      ['connections/test', { id: 'x' }],
    ] as const) {
      const r = await core.dispatch(method, input);
      expect(r, method).toMatchObject({ ok: false, error: { code: 'WATCH_ONLY' } });
    }
    // A read-only test is not refused for watch-only reasons (it fails later: no such profile).
    expect(await core.dispatch('connections/test', { id: 'x', writeProbe: false })).toMatchObject({ ok: false, error: { code: 'PROFILE_NOT_FOUND' } });
    expect(await core.dispatch('app/info', {})).toMatchObject({ ok: true, result: { watchOnly: true, transport: 'host' } });
    await core.shutdown();
  });
});

describe('profile store under concurrent changes', () => {
  it('keeps profiles.json whole when saves and deletes race (double clicks, two tabs)', async () => {
    const dir = path.join(dataDir, 'race');
    const core = await createCore({ transport: 'host', dataDir: dir, secretStore: new MemorySecretStore() });
    const draft = (i: number) => ({ profile: { name: `db ${i}`, engine: 'postgres', environment: 'staging', host: `h${i}`, port: 5432 } });
    const saved = await Promise.all(Array.from({ length: 20 }, (_, i) => call<ProfileSummary>(core, 'profiles/save', draft(i))));
    const results = await Promise.all([
      ...saved.slice(0, 10).map((p) => core.dispatch('profiles/delete', { id: p.profile.id })),
      ...saved.slice(10).map((p) => core.dispatch('profiles/save', { profile: { ...p.profile, name: `${p.profile.name} renamed` } })),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'profiles.json'), 'utf8')) as { profiles: { name: string }[] };
    expect(onDisk.profiles.map((p) => p.name).sort()).toEqual(saved.slice(10).map((p) => `${p.profile.name} renamed`).sort());
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await core.shutdown();
  });
});

describeWith('postgres', 'profiles against a real PostgreSQL', (s) => {
  it('opens a profile once when asked twice at once, and a close during the open wins', async () => {
    const core = await createCore({ transport: 'host', dataDir: path.join(dataDir, 'open-race'), secretStore: new MemorySecretStore() });
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { name: 'race', engine: 'postgres', environment: 'staging', host: s.host, port: s.port, database: s.database, user: s.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': s.password },
    });
    const id = saved.profile.id;
    const [a, b] = await Promise.all([core.dispatch('connections/open', { id }), core.dispatch('connections/open', { id })]);
    expect([a, b]).toMatchObject([{ ok: true, result: { state: 'open' } }, { ok: true, result: { state: 'open' } }]);
    await call(core, 'connections/close', { id });
    const opening = core.dispatch('connections/open', { id });
    const closed = await call<{ state: string }>(core, 'connections/close', { id });
    expect(closed.state).toBe('closed');
    expect(await opening).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect((await call<{ state: string }[]>(core, 'connections/states')).filter((x) => x.state !== 'closed')).toEqual([]);
    await core.shutdown();
  });

  it('saves a profile with its password, never returns the password, tests, duplicates and deletes', async () => {
    const dir = path.join(dataDir, 'p');
    const secrets = new MemorySecretStore();
    const core = await createCore({ transport: 'host', dataDir: dir, secretStore: secrets });
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { name: 'Orders staging', engine: 'postgres', environment: 'staging', host: s.host, port: s.port, database: s.database, user: s.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': s.password },
    });
    expect(saved.secrets['db-password']).toBe(true);
    expect(saved.secrets['ssh-password']).toBe(false);
    const listed = await call<ProfileSummary[]>(core, 'profiles/list');
    expect(JSON.stringify(listed)).not.toContain(s.password);
    expect(fs.readFileSync(path.join(dir, 'profiles.json'), 'utf8')).not.toContain(s.password);
    expect(fs.statSync(path.join(dir, 'profiles.json')).mode & 0o777).toBe(0o600);

    const states: string[] = [];
    core.events.subscribe((e) => {
      if (e.event === 'connections/state' && e.payload.profileId === saved.profile.id) states.push(e.payload.state);
    });
    const result = await call<TestResult>(core, 'connections/test', { id: saved.profile.id });
    expect(result).toMatchObject({ engine: 'postgres', currentUser: 'flightdeck', probe: { write: 'ok' } });
    expect(states).toEqual(['connecting', 'open']);

    const copy = await call<ProfileSummary>(core, 'profiles/duplicate', { id: saved.profile.id });
    expect(copy.profile.name).toBe('Orders staging (copy)');
    expect(copy.profile.id).not.toBe(saved.profile.id);
    expect(copy.secrets['db-password']).toBe(false);

    // A wrong password stored afterwards gives AUTH_FAILED through the same path.
    await call(core, 'profiles/save', { profile: saved.profile, secrets: { 'db-password': 'wrong' } });
    const failed = await core.dispatch('connections/test', { id: saved.profile.id });
    expect(failed).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED' } });

    await call(core, 'profiles/delete', { id: saved.profile.id });
    expect(await secrets.has(saved.profile.id, 'db-password')).toBe(false);
    expect((await call<ProfileSummary[]>(core, 'profiles/list')).map((p) => p.profile.id)).toEqual([copy.profile.id]);
    await core.shutdown();

    // Profiles survive a restart; a damaged file is refused, not overwritten.
    const again = await createCore({ transport: 'host', dataDir: dir, secretStore: new MemorySecretStore() });
    expect((await call<ProfileSummary[]>(again, 'profiles/list')).map((p) => p.profile.name)).toEqual(['Orders staging (copy)']);
    await again.shutdown();
    fs.writeFileSync(path.join(dir, 'profiles.json'), '{"version":1,"profiles":[{"id":');
    const damaged = await createCore({ transport: 'host', dataDir: dir, secretStore: new MemorySecretStore() });
    const r = await damaged.dispatch('profiles/list', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    expect(fs.readFileSync(path.join(dir, 'profiles.json'), 'utf8')).toBe('{"version":1,"profiles":[{"id":');
    await damaged.shutdown();
  });
});

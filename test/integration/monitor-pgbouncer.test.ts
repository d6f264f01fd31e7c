// The Pool panel's PgBouncer pools, against the real PgBouncer in front of the test PostgreSQL: a
// database profile with its pooler attached is monitored, and clients that hold every server
// connection of the pool, plus one more that queues, show as serversActive 3 and clientsWaiting 1
// within a few samples (the series too); a wrong console password shows on the pooler's part of the
// panel while the database samples stay live; an attachment that cannot work is refused on save.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { ProfileSummary } from '../../shared/api';
import type { Sample, Series } from '../../shared/monitor';
import { createCore, type Core } from '../../main/core';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { postgresTestDb, type TestDb } from '../support/migration-dbs';
import { describeWith, requireServer } from '../support/servers';

async function call<T>(core: Core, method: string, input: unknown = {}): Promise<T> {
  const outcome = await core.dispatch(method, input);
  if (!outcome.ok) throw Object.assign(new Error(`${outcome.error.code}: ${outcome.error.message}`), outcome.error);
  return outcome.result as T;
}

describeWith('pgbouncer', 'Pool panel: PgBouncer pools of an attached pooler', (bouncer) => {
  let dir: string;
  let core: Core;
  let db: TestDb;
  const samples = new Map<string, Sample[]>();
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-monitor-pgbouncer-'));
    db = await postgresTestDb(requireServer('postgres'), 'fdmonpgb');
    core = await createCore({ transport: 'host', dataDir: path.join(dir, 'core'), secretStore: new MemorySecretStore() });
    core.events.subscribe((e) => {
      if (e.event !== 'monitor/sample') return;
      const list = samples.get(e.payload.profileId) ?? [];
      list.push(e.payload);
      samples.set(e.payload.profileId, list);
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  });
  afterAll(async () => {
    await core?.shutdown();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function savePooler(name: string, password: string): Promise<string> {
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { name, engine: 'postgres', environment: 'production', host: bouncer.host, port: bouncer.port, database: 'pgbouncer', user: bouncer.adminUser, tls: { mode: 'disable' } },
      secrets: { 'db-password': password },
    });
    return saved.profile.id;
  }
  async function saveDatabase(name: string, poolerId: string): Promise<string> {
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { ...db.profile, id: undefined, name, environment: 'production', tls: { mode: 'disable' }, pgbouncerProfileId: poolerId },
      secrets: { 'db-password': db.password },
    });
    return saved.profile.id;
  }
  async function appClient(): Promise<pg.Client> {
    const c = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.user, password: bouncer.password, database: db.name, application_name: 'fd-test/app' });
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  }
  const latest = (id: string) => samples.get(id)?.at(-1);

  it('shows clients queueing at the pooler when every server connection of the pool is held', { timeout: 60_000 }, async () => {
    const poolerId = await savePooler('shop pooler', bouncer.adminPassword);
    const id = await saveDatabase('shop via pooler', poolerId);
    await call(core, 'monitor/start', { profileId: id, intervalMs: 500 });
    try {
      // The pool appears once an application has connected through the pooler.
      const first = await appClient();
      await first.query('select 1');
      await expect.poll(() => latest(id)?.pooler?.pools.length, { timeout: 15_000, interval: 100 }).toBe(1);
      const idle = latest(id)!.pooler!;
      expect(idle).toMatchObject({ address: `${bouncer.adminUser}@${bouncer.host}:${bouncer.port}/pgbouncer`, paused: false, disabled: false });
      expect(idle.error).toBeUndefined();
      expect(idle.pools[0]).toMatchObject({ database: db.name, user: bouncer.user, mode: 'session', clientsWaiting: 0, poolSize: bouncer.defaultPoolSize });
      expect(idle.otherPools).toBeGreaterThanOrEqual(0);
      await first.end();

      // Every server connection held by an open transaction, and one more client queued.
      for (let i = 0; i < bouncer.defaultPoolSize; i++) {
        const h = await appClient();
        await h.query('begin');
        await h.query('select 1');
      }
      const waiter = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.user, password: bouncer.password, database: db.name });
      waiter.on('error', () => undefined);
      clients.push(waiter);
      const served = waiter.connect().then(() => waiter.query('select 1 as served'));
      served.catch(() => undefined);

      await expect.poll(() => latest(id)?.pooler?.pools[0]?.clientsWaiting, { timeout: 15_000, interval: 100 }).toBe(1);
      const busy = latest(id)!;
      expect(busy.pooler!.pools[0]).toMatchObject({ serversActive: bouncer.defaultPoolSize, clientsActive: bouncer.defaultPoolSize, clientsWaiting: 1 });
      expect(busy.pooler!.pools[0]!.maxWaitSeconds).toBeGreaterThanOrEqual(0);
      // The server's own view is still sampled beside it.
      expect(busy.pool!.total).toBeGreaterThanOrEqual(bouncer.defaultPoolSize);
      expect(JSON.stringify(busy)).not.toContain(bouncer.adminPassword);

      const [waiting, active] = await call<Series[]>(core, 'monitor/series', { profileId: id, keys: ['pooler.clientsWaiting', 'pooler.serversActive'], points: 500 });
      expect(Math.max(...waiting!.points.map(([, v]) => v))).toBe(1);
      expect(Math.max(...active!.points.map(([, v]) => v))).toBe(bouncer.defaultPoolSize);

      // Once the holders finish, the queue drains, and the panel says so.
      for (const h of clients.slice(1, 1 + bouncer.defaultPoolSize)) await h.end();
      expect((await served).rows[0]).toEqual({ served: 1 });
      await expect.poll(() => latest(id)?.pooler?.pools[0]?.clientsWaiting, { timeout: 15_000, interval: 100 }).toBe(0);
    } finally {
      await call(core, 'monitor/stop', { profileId: id });
    }
  });

  it('shows why the pools cannot be read while the database panels stay live', { timeout: 40_000 }, async () => {
    const poolerId = await savePooler('pooler, wrong password', 'not-the-password');
    const id = await saveDatabase('shop, pooler refused', poolerId);
    await call(core, 'monitor/start', { profileId: id, intervalMs: 500 });
    try {
      await expect.poll(() => latest(id)?.pooler?.error?.message, { timeout: 15_000, interval: 100 }).toMatch(
        new RegExp(`^Could not read PgBouncer's pools at ${bouncer.adminUser}@${bouncer.host}:${bouncer.port}/pgbouncer: .*rejected the credentials of user "${bouncer.adminUser}"`),
      );
      const s = latest(id)!;
      expect(s.pool).toBeDefined();
      expect(s.pooler!.readAt).toBeNull();
      expect(s.errors).toEqual([]);
      const [waiting] = await call<Series[]>(core, 'monitor/series', { profileId: id, keys: ['pooler.clientsWaiting'], points: 100 });
      expect(waiting!.points).toEqual([]);
    } finally {
      await call(core, 'monitor/stop', { profileId: id });
    }
  });

  it('prints the pools in `flightdeck monitor --pgbouncer`, the console password from the environment and nowhere in the output', { timeout: 40_000 }, async () => {
    const app = await appClient();
    await app.query('select 1');
    const pgServer = requireServer('postgres');
    const url = `postgres://${pgServer.user}@${pgServer.host}:${pgServer.port}/${db.name}?sslmode=disable`;
    const args = [path.resolve('bin/flightdeck.js'), 'monitor', url, '--pgbouncer', `postgres://${bouncer.adminUser}@${bouncer.host}:${bouncer.port}/pgbouncer`, '--once', '--interval', '1000'];
    const env = { ...process.env, FLIGHTDECK_DATA_DIR: dir, SSH_AUTH_SOCK: '', PGPASSWORD: db.password, FLIGHTDECK_PGBOUNCER_PASSWORD: bouncer.adminPassword };
    const json = await promisify(execFile)(process.execPath, [...args, '--json'], { env, timeout: 30_000 });
    const sample = JSON.parse(json.stdout.trim()) as Sample;
    expect(sample.pooler!.error).toBeUndefined();
    expect(sample.pooler!.pools).toContainEqual(expect.objectContaining({ database: db.name, user: bouncer.user, clientsActive: 1, clientsWaiting: 0 }));
    const human = await promisify(execFile)(process.execPath, args, { env, timeout: 30_000 });
    expect(human.stdout).toContain(`  pgbouncer   ${db.name}/${bouncer.user} session: 1 clients, 0 waiting (max wait 0.0 s), servers `);
    expect(json.stdout + json.stderr + human.stdout + human.stderr).not.toContain(bouncer.adminPassword);
  });

  it('refuses, on save, a pooler that is not a PgBouncer admin console or a database that is not PostgreSQL', async () => {
    const notConsole = await call<ProfileSummary>(core, 'profiles/save', { profile: { ...db.profile, id: undefined, name: 'plain database' } });
    await expect(saveDatabase('shop, wrong pooler', notConsole.profile.id)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: `The PgBouncer profile "plain database" names database "${db.name}", not PgBouncer's admin console "pgbouncer".`,
    });
    await expect(saveDatabase('shop, missing pooler', 'no-such-profile')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'The PgBouncer profile attached to shop, missing pooler does not exist (any more).' });
    const poolerId = await savePooler('pooler for mysql', bouncer.adminPassword);
    await expect(
      call(core, 'profiles/save', { profile: { name: 'a mariadb', engine: 'mysql', environment: 'staging', host: '127.0.0.1', port: 3306, database: 'x', user: 'x', pgbouncerProfileId: poolerId } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'PgBouncer pools PostgreSQL connections; a mariadb is a mysql profile.' });
  });
});

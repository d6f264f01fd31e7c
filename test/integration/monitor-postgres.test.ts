// The PostgreSQL sampler against the real test primary and replica: each test creates a condition
// with real sessions (a row lock, a paused replica, extra connections, a statement run 100 times,
// an idle transaction, an ACCESS EXCLUSIVE lock) and looks for it in the sample. The servers are
// shared with other test files running in parallel, so assertions follow this file's own pids,
// tables and application names instead of absolute counts.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sampleSchema, type Sample } from '../../shared/monitor';
import type { Profile } from '../../shared/profile';
import type { SqlSession } from '../../main/connections/adapter';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { postgresSampler } from '../../main/monitor/postgres-sampler';
import type { Sampler, SamplerOptions } from '../../main/monitor/sampler';
import { describeWith, type AvailableServer } from '../support/servers';

type Pg = AvailableServer<'postgres'>;

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });
/** A name unique to this run, for tables and application names other files cannot share. */
const tag = `fdmon_${process.pid}_${randomBytes(3).toString('hex')}`;

describeWith('postgres', 'PostgreSQL health sampler', (server) => {
  const opened: OpenConnection[] = [];
  const clients = new Set<pg.Client>();

  /** The monitoring session as the monitor service opens it: one connection, tight limits. */
  async function monitor(over: Partial<SamplerOptions> & { port?: number; database?: string } = {}): Promise<{ sampler: Sampler; session: SqlSession }> {
    const profile: Profile = {
      id: `mon-${over.port ?? server.port}`, name: 'monitor test', engine: 'postgres', environment: 'staging',
      host: server.host, port: over.port ?? server.port, database: over.database ?? server.database, user: server.user,
      tls: { mode: 'disable' }, connectTimeoutMs: 3000,
    };
    const conn = await connectProfile(profile, { dbPassword: server.password }, { hostKeys, role: 'monitor', poolSize: 1, statementTimeoutMs: 2000, lockTimeoutMs: 100 });
    opened.push(conn);
    const session = conn.session as SqlSession;
    const sampler = postgresSampler(session, { profileId: profile.id, longRunningMs: 60_000, topStatements: 20, ...over });
    return { sampler, session };
  }

  async function client(opts: { application?: string; port?: number; superuser?: boolean } = {}): Promise<pg.Client & { pid: number }> {
    const c = new pg.Client({
      host: server.host, port: opts.port ?? server.port, database: server.database,
      user: opts.superuser ? server.superuser : server.user, password: opts.superuser ? server.superuserPassword : server.password,
      application_name: opts.application ?? `${tag}/client`,
      // A test that goes wrong must not leave a session waiting forever on the shared server.
      statement_timeout: 30_000,
    });
    await c.connect();
    // A terminated session emits 'error'; the test that caused it deals with it.
    c.on('error', () => undefined);
    clients.add(c);
    const pid = (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    return Object.assign(c, { pid });
  }

  /** Takes samples until `check` finds what it looks for (or returns undefined `max` times). */
  async function sampleUntil<T>(sampler: Sampler, check: (s: Sample) => T | undefined, max: number, gapMs = 100): Promise<{ found: T | undefined; samples: Sample[] }> {
    const samples: Sample[] = [];
    for (let i = 0; i < max; i++) {
      const s = sampleSchema.parse(await sampler.sample());
      samples.push(s);
      const found = check(s);
      if (found !== undefined) return { found, samples };
      // As the monitor does: statement statistics are read in the gap after a sample.
      await sampler.between?.(1000);
      await sleep(gapMs);
    }
    return { found: undefined, samples };
  }

  async function waitUntilWaiting(checker: pg.Client, pid: number): Promise<void> {
    await expect
      .poll(async () => (await checker.query<{ w: string | null }>('select wait_event_type as w from pg_stat_activity where pid = $1', [pid])).rows[0]?.w, { timeout: 10_000, interval: 20 })
      .toBe('Lock');
  }

  let admin: pg.Client & { pid: number };
  beforeAll(async () => {
    admin = await client({ application: `${tag}/admin` });
  });
  afterAll(async () => {
    for (const t of ['locked', 'stmt', 'exclusive', 'walgen']) await admin.query(`drop table if exists ${tag}_${t}`).catch(() => undefined);
    await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
    await Promise.all(opened.map((c) => c.close()));
  });

  it('shows a row lock wait within 2 samples: waiter, blocker, mode, table and both queries', async () => {
    const { sampler } = await monitor();
    await admin.query(`create table ${tag}_locked (id int primary key, v int)`);
    await admin.query(`insert into ${tag}_locked values (1, 0)`);
    const holder = await client({ application: `${tag}/holder` });
    const waiter = await client({ application: `${tag}/waiter` });
    await holder.query('begin');
    await holder.query(`select * from ${tag}_locked where id = 1 for update`);
    const blocked = waiter.query(`update ${tag}_locked set v = 2 where id = 1`);
    try {
      await waitUntilWaiting(admin, waiter.pid);
      const { found, samples } = await sampleUntil(sampler, (s) => s.locks?.waits.find((w) => w.pid === waiter.pid), 2);
      expect(found, JSON.stringify(samples.map((s) => s.errors))).toBeDefined();
      const wait = found!;
      expect(wait.blockedBy).toContain(holder.pid);
      // A row wait is a ShareLock on the holder's transaction id; the table comes from the tuple
      // lock the waiter holds meanwhile.
      expect(wait).toMatchObject({ mode: 'ShareLock', lockType: 'transactionid', relation: `public.${tag}_locked`, user: server.user, application: `${tag}/waiter` });
      expect(wait.query).toContain(`update ${tag}_locked set v = 2`);
      expect(wait.waitMs).toBeGreaterThanOrEqual(0);
      const sample = samples.at(-1)!;
      expect(sample.locks!.waiting).toBeGreaterThanOrEqual(1);
      expect(sample.pool!.waiting).toBeGreaterThanOrEqual(1);
      const blocker = sample.locks!.blockers.find((b) => b.pid === holder.pid);
      expect(blocker).toMatchObject({ state: 'idle in transaction', waiting: false, application: `${tag}/holder`, user: server.user });
      expect(blocker!.query).toContain('for update');
      expect(blocker!.xactMs).toBeGreaterThan(0);
    } finally {
      await holder.query('rollback');
      await blocked;
    }
    const { found: gone } = await sampleUntil(sampler, (s) => (s.locks!.waits.some((w) => w.pid === waiter.pid) ? undefined : true), 5);
    expect(gone).toBe(true);
  });

  it('sees a paused replica fall behind, from the primary and from the replica', async () => {
    const primary = await monitor();
    const replica = await monitor({ port: server.replicaPort });
    const replicaAdmin = await client({ port: server.replicaPort, superuser: true, application: `${tag}/replica-admin` });
    await admin.query(`create table ${tag}_walgen (id serial primary key, payload text)`);
    const write = () => admin.query(`insert into ${tag}_walgen (payload) select repeat('x', 200) from generate_series(1, 500)`);

    const first = sampleSchema.parse(await replica.sampler.sample());
    expect(first.replication).toMatchObject({ role: 'replica', self: { replayPaused: false } });
    const onPrimary = sampleSchema.parse(await primary.sampler.sample());
    expect(onPrimary.replication!.role).toBe('primary');
    expect(onPrimary.replication!.replicas.find((r) => r.name === 'fd-test-replica')).toMatchObject({ address: '127.0.0.1', state: 'streaming' });
    expect(onPrimary.replication!.slots.find((s) => s.name === 'fd_test_replica')).toMatchObject({ active: true });

    await replicaAdmin.query('select pg_wal_replay_pause()');
    try {
      const replicaLag: number[] = [];
      const primaryLag: number[] = [];
      for (let round = 0; round < 3; round++) {
        await write();
        // The replica receives the WAL it cannot replay; wait until both sides have seen it.
        const target = (replicaLag.at(-1) ?? 0) + 1;
        const r = await sampleUntil(replica.sampler, (s) => (s.replication?.self?.lagBytes ?? 0) >= target ? s : undefined, 50);
        expect(r.found, JSON.stringify(r.samples.at(-1)?.replication)).toBeDefined();
        expect(r.found!.replication!.self).toMatchObject({ replayPaused: true });
        replicaLag.push(r.found!.replication!.self!.lagBytes!);
        const p = await sampleUntil(primary.sampler, (s) => {
          const lag = s.replication?.replicas.find((x) => x.name === 'fd-test-replica')?.lagBytes ?? 0;
          return lag > (primaryLag.at(-1) ?? 0) ? lag : undefined;
        }, 50);
        expect(p.found).toBeDefined();
        primaryLag.push(p.found!);
      }
      expect(replicaLag[2]!).toBeGreaterThan(replicaLag[0]!);
      expect(primaryLag[2]!).toBeGreaterThan(primaryLag[0]!);
      // Paused with WAL waiting: the replica is behind by time as well, not only bytes.
      const paused = sampleSchema.parse(await replica.sampler.sample());
      expect(paused.replication!.self!.lagSeconds).not.toBe(0);
    } finally {
      await replicaAdmin.query('select pg_wal_replay_resume()');
    }
    const caughtUp = await sampleUntil(replica.sampler, (s) => (s.replication?.self?.lagBytes === 0 && !s.replication.self.replayPaused ? s : undefined), 100);
    expect(caughtUp.found).toBeDefined();
    expect(caughtUp.found!.replication!.self!.lagSeconds).toBe(0);
  });

  it('counts 10 extra client connections in the pool, by application and user', async () => {
    const { sampler } = await monitor();
    const app = `${tag}/pool`;
    const count = (s: Sample) => s.pool!.byApplication.find((a) => a.name === app)?.count ?? 0;
    // Other test files open and close sessions on this server too: open and close the 10 until a
    // pair of samples around it saw nothing else change (the app's own count is exact every time).
    const deltas: number[] = [];
    for (let attempt = 0; attempt < 5 && !deltas.includes(10); attempt++) {
      const extra = await Promise.all(Array.from({ length: 10 }, () => client({ application: app })));
      const up = sampleSchema.parse(await sampler.sample());
      expect(count(up)).toBe(10);
      expect(up.pool!.byUser.find((u) => u.name === server.user)?.count).toBeGreaterThanOrEqual(10);
      expect(up.pool!.idle).toBeGreaterThanOrEqual(10);
      expect(up.pool!.max).toBe(200);
      expect(up.pool!.reserved).toBeGreaterThanOrEqual(3);
      await Promise.all(extra.map((c) => c.end()));
      for (const c of extra) clients.delete(c);
      const down = await sampleUntil(sampler, (s) => (count(s) === 0 ? s : undefined), 20);
      expect(down.found).toBeDefined();
      deltas.push(up.pool!.total - down.found!.pool!.total);
    }
    expect(deltas).toContain(10);
  });

  // A reading of pg_stat_statements costs more on a loaded machine, and the sampler then reads it
  // less often (every cost × 400 ms): up to 150 samples, 100 ms apart, wait for the next readings.
  it('puts a statement run 100 times between two readings in the top statements with its calls', { timeout: 60_000 }, async () => {
    const { sampler } = await monitor({ topStatements: 500 });
    const c = await client({ application: `${tag}/statements` });
    // The table's oid is part of the statement's queryid, so this statement is this test's alone.
    await c.query(`create table ${tag}_stmt (id int primary key)`);
    const sql = `select id from ${tag}_stmt where id = $1`;
    await c.query(sql, [0]);
    const ranAt = Date.now();
    // A reading that already includes the first call; later readings count from it.
    const before = await sampleUntil(sampler, (s) => (s.statements?.available && (s.statements.readAt ?? 0) > ranAt ? s : undefined), 150);
    expect(before.found, JSON.stringify(before.samples.at(-1)?.statements)).toBeDefined();
    for (let i = 0; i < 100; i++) await c.query(sql, [i]);
    const doneAt = Date.now();
    const after = await sampleUntil(sampler, (s) => ((s.statements?.readAt ?? 0) > doneAt ? s.statements!.top.find((t) => t.query.includes(`${tag}_stmt`)) && s : undefined), 150);
    expect(after.found, JSON.stringify(after.samples.at(-1)?.statements?.top.slice(0, 5))).toBeDefined();
    const panel = after.found!.statements!;
    // Texts of new top statements may arrive one sample after their numbers on a busy server.
    const row = panel.top.find((t) => t.query.includes(`${tag}_stmt`))!;
    expect(panel.intervalMs).toBeGreaterThan(0);
    const calls = (row.callsPerSec * panel.intervalMs!) / 1000;
    expect(Math.abs(calls - 100)).toBeLessThanOrEqual(2);
    expect(row.meanMs).toBeGreaterThan(0);
    expect(row.totalMsPerSec).toBeGreaterThan(0);
    expect((row.rowsPerSec! * panel.intervalMs!) / 1000).toBeLessThanOrEqual(2);
    expect(row.baselineMeanMs).toBeNull();
    expect(panel.tracked).toBeGreaterThan(0);
  });

  it('says how to enable pg_stat_statements in a database without it', async () => {
    const { sampler } = await monitor({ database: 'postgres' });
    await sampler.between?.(1000);
    const s = sampleSchema.parse(await sampler.sample());
    expect(s.errors).toEqual([]);
    expect(s.statements!.available).toBe(false);
    // The library is preloaded on the test server, so only the extension is missing.
    expect(s.statements!.hint).toMatch(/CREATE EXTENSION pg_stat_statements/);
    expect(s.statements!.hint).toContain('"postgres"');
  });

  it('lists idle-in-transaction sessions, long-running queries and long transactions, and rates from the 2nd sample', async () => {
    const { sampler } = await monitor({ longRunningMs: 500 });
    const first = sampleSchema.parse(await sampler.sample());
    expect(first.activity!.commitsPerSec).toBeNull();
    expect(first.activity!.thresholdMs).toBe(500);

    const idle = await client({ application: `${tag}/idle-xact` });
    await idle.query('begin');
    await idle.query('select 1');
    const sleeper = await client({ application: `${tag}/sleeper` });
    const sleeping = sleeper.query('select pg_sleep(3)');
    try {
      await sleep(700);
      const s = sampleSchema.parse(await sampler.sample());
      expect(s.errors).toEqual([]);
      const a = s.activity!;
      const idleRow = a.idleInTransaction.find((r) => r.pid === idle.pid);
      expect(idleRow).toMatchObject({ state: 'idle in transaction', application: `${tag}/idle-xact`, query: 'select 1' });
      expect(idleRow!.durationMs).toBeGreaterThanOrEqual(500);
      const long = a.longRunning.find((r) => r.pid === sleeper.pid);
      expect(long).toMatchObject({ state: 'active', query: 'select pg_sleep(3)' });
      expect(long!.durationMs).toBeGreaterThan(500);
      expect(a.longTransactions.map((r) => r.pid)).toEqual(expect.arrayContaining([idle.pid, sleeper.pid]));
      for (const key of ['commitsPerSec', 'rollbacksPerSec', 'deadlocksPerSec', 'tempFilesPerSec'] as const) {
        expect(a[key], key).not.toBeNull();
        expect(a[key]!).toBeGreaterThanOrEqual(0);
      }
      expect(s.pool!.idleInTransaction).toBeGreaterThanOrEqual(1);
      expect(s.pool!.active).toBeGreaterThanOrEqual(1);
    } finally {
      await idle.query('rollback');
      await sleeping;
    }
    const later = sampleSchema.parse(await sampler.sample());
    expect(later.activity!.idleInTransaction.some((r) => r.pid === idle.pid)).toBe(false);
    expect(later.activity!.longRunning.some((r) => r.pid === sleeper.pid)).toBe(false);
  });

  it('keeps answering, under a second and without errors, while a table is locked ACCESS EXCLUSIVE', async () => {
    const { sampler } = await monitor();
    await admin.query(`create table ${tag}_exclusive (id int)`);
    const locker = await client({ application: `${tag}/locker` });
    const reader = await client({ application: `${tag}/reader` });
    await locker.query('begin');
    await locker.query(`lock table ${tag}_exclusive in access exclusive mode`);
    const reading = reader.query(`select count(*) from ${tag}_exclusive`);
    try {
      await waitUntilWaiting(admin, reader.pid);
      for (let i = 0; i < 3; i++) {
        // The statement statistics read between samples must not wait on the lock either.
        const betweenStarted = performance.now();
        await sampler.between?.(1000);
        expect(performance.now() - betweenStarted).toBeLessThan(1000);
        const started = performance.now();
        const s = sampleSchema.parse(await sampler.sample());
        expect(performance.now() - started).toBeLessThan(1000);
        expect(s.errors).toEqual([]);
        expect(s.durationMs).toBeLessThan(1000);
        for (const panel of ['pool', 'locks', 'replication', 'activity', 'statements'] as const) expect(s[panel], panel).toBeDefined();
        const wait = s.locks!.waits.find((w) => w.pid === reader.pid);
        expect(wait).toMatchObject({ mode: 'AccessShareLock', lockType: 'relation', relation: `public.${tag}_exclusive`, blockedBy: [locker.pid] });
        expect(s.locks!.blockers.find((b) => b.pid === locker.pid)?.query).toContain('access exclusive');
      }
    } finally {
      await locker.query('rollback');
      await reading;
    }
  });

  it('leaves its own session out and never overlaps two samples', async () => {
    const { sampler, session } = await monitor({ longRunningMs: 0 });
    const own = (await session.query<{ pid: number }>('select pg_backend_pid() as pid'))[0]!.pid;
    const [a, b] = await Promise.all([sampler.sample(), sampler.sample()]);
    expect(a).toBe(b);
    const s = sampleSchema.parse(await sampler.sample());
    const pids = [...s.activity!.longRunning, ...s.activity!.longTransactions, ...s.activity!.idleInTransaction].map((r) => r.pid);
    expect(pids).not.toContain(own);
    expect(s.durationMs).toBeGreaterThan(0);
    expect(s.time).toBeGreaterThan(Date.now() - 10_000);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

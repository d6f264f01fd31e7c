// The storage panel against the real test PostgreSQL: a table churned by updates with autovacuum off
// shows its dead tuples, a bloat estimate and its never-used index; a table a migration holds
// ACCESS EXCLUSIVE on is still sized, from the catalog, within the monitor's limits (where
// pg_total_relation_size() would wait); and in the monitor service storage is read on its own
// cadence between samples, so a storage query that never finishes does not delay a live sample.
// The server is shared with other test files, so assertions look at this file's own tables.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ProfileSummary } from '../../shared/api';
import { sampleSchema, storagePanelSchema, type Sample } from '../../shared/monitor';
import type { Profile } from '../../shared/profile';
import type { SqlSession } from '../../main/connections/adapter';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { createCore, type Core } from '../../main/core';
import { createLogger } from '../../main/log';
import { MonitorService, monitorSessionLimits } from '../../main/monitor/monitor-service';
import { postgresStorage } from '../../main/monitor/postgres-storage';
import { samplers } from '../../main/monitor/samplers';
import { forSql } from '../../main/monitor/sampler';
import { defaultStorageOptions, StorageReadError, storageBudgetMs, type StorageReaderFactory } from '../../main/monitor/storage';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { describeWith, type AvailableServer } from '../support/servers';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });
const tag = `fdstor_${process.pid}_${randomBytes(3).toString('hex')}`;

describeWith('postgres', 'PostgreSQL storage panel', (server: AvailableServer<'postgres'>) => {
  const opened: OpenConnection[] = [];
  const clients: pg.Client[] = [];
  let admin: pg.Client;
  let dir: string;
  let core: Core | undefined;

  /** The monitoring session exactly as the monitor service opens it. */
  async function monitorSession(): Promise<SqlSession> {
    const profile: Profile = {
      id: `storage-${tag}`, name: 'storage test', engine: 'postgres', environment: 'staging',
      host: server.host, port: server.port, database: server.database, user: server.user, tls: { mode: 'disable' }, connectTimeoutMs: 3000,
    };
    const conn = await connectProfile(profile, { dbPassword: server.password }, { hostKeys, role: 'monitor', poolSize: 1, ...monitorSessionLimits });
    opened.push(conn);
    return conn.session as SqlSession;
  }

  async function client(application: string): Promise<pg.Client> {
    const c = new pg.Client({ host: server.host, port: server.port, database: server.database, user: server.user, password: server.password, application_name: application, statement_timeout: 60_000 });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    admin = await client(`${tag}/admin`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-storage-'));
  });
  afterAll(async () => {
    await core?.shutdown();
    for (const t of ['churn', 'locked']) await admin.query(`drop table if exists ${tag}_${t}`).catch(() => undefined);
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await Promise.all(opened.map((c) => c.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows dead tuples, a bloat estimate and the never-used index of a table updated with autovacuum off', async () => {
    const table = `${tag}_churn`;
    // The writes come from a session of their own that then disconnects: a backend sends its
    // statistics when it exits, so the counters are complete before ANALYZE (a flush arriving after
    // ANALYZE would count its rows a second time).
    const writer = await client(`${tag}/writer`);
    await writer.query(`create table ${table} (id int primary key, v int not null, payload text not null) with (autovacuum_enabled = false)`);
    await writer.query(`create index ${table}_v on ${table} (v)`);
    await writer.query(`insert into ${table} select g, g, repeat('p', 100) from generate_series(1, 20000) g`);
    // Every row updated once: 20,000 dead versions that nothing vacuums. The index on v is never
    // scanned (the primary key is unique, so it would not count anyway).
    await writer.query(`update ${table} set payload = repeat('q', 100)`);
    await writer.end();
    clients.splice(clients.indexOf(writer), 1);
    await expect
      .poll(async () => Number((await admin.query<{ n: string }>(`select n_dead_tup as n from pg_stat_user_tables where relid = '${table}'::regclass`)).rows[0]?.n ?? 0), { timeout: 15_000, interval: 100 })
      .toBeGreaterThanOrEqual(20_000);
    // ANALYZE records the table's pages and the column widths the bloat estimate needs, and the
    // live and dead row counts it saw; it removes nothing.
    await admin.query(`analyze ${table}`);
    const actualHeap = Number((await admin.query<{ n: string }>(`select pg_relation_size('${table}') as n`)).rows[0]!.n);

    const reader = postgresStorage(await monitorSession(), { ...defaultStorageOptions, topTables: 1000, unusedIndexes: 1000 });
    const panel = storagePanelSchema.partial().parse(await reader.read(1500));
    const row = panel.tables!.find((t) => t.schema === 'public' && t.name === table);
    expect(row, JSON.stringify(panel.tables!.map((t) => t.name))).toBeDefined();
    expect(row!.deadRows).toBeGreaterThanOrEqual(19_000);
    expect(row!.liveRows).toBeGreaterThanOrEqual(19_000);
    expect(row!.deadRatio).toBeGreaterThan(0.4);
    // Sizes from the catalog are the real ones as of the ANALYZE.
    expect(row!.tableBytes).toBe(actualHeap);
    expect(row!.indexBytes).toBeGreaterThan(0);
    expect(row!.totalBytes).toBe(row!.tableBytes + row!.indexBytes + row!.toastBytes);
    // Half of the heap is dead row versions: the estimate sees roughly that much bloat.
    expect(row!.bloatRatio).toBeGreaterThan(0.3);
    expect(row!.bloatRatio).toBeLessThan(0.7);
    expect(row!.bloatBytes).toBeGreaterThan(0);
    expect(row!.lastAnalyze).toBeGreaterThan(Date.now() - 120_000);
    expect(row!.lastAutovacuum).toBeNull();

    const unused = panel.unusedIndexes!.find((u) => u.name === `${table}_v`);
    expect(unused).toMatchObject({ schema: 'public', table });
    expect(unused!.bytes).toBeGreaterThan(0);
    // Unique and primary-key indexes are never listed, scanned or not.
    expect(panel.unusedIndexes!.some((u) => u.name === `${table}_pkey`)).toBe(false);
    expect(panel.unusedIndexCount).toBeGreaterThanOrEqual(panel.unusedIndexes!.length);

    // Once the index is scanned it is no longer unused.
    const scanner = await client(`${tag}/scanner`);
    await scanner.query('set enable_seqscan = off');
    await scanner.query(`select count(*) from ${table} where v = 42`);
    await scanner.end();
    clients.splice(clients.indexOf(scanner), 1);
    await expect.poll(async () => (await reader.read(1500)).unusedIndexes.some((u) => u.name === `${table}_v`), { timeout: 15_000, interval: 300 }).toBe(false);
  });

  it('sizes a table under ACCESS EXCLUSIVE within the monitor\'s limits, where pg_total_relation_size() waits', async () => {
    const table = `${tag}_locked`;
    // Large enough to rank among the 20 largest tables of the shared test database.
    await admin.query(`create table ${table} (id int primary key, v int not null, payload text not null)`);
    await admin.query(`insert into ${table} select g, g, repeat('x', 150) from generate_series(1, 60000) g`);
    await admin.query(`create index ${table}_v on ${table} (v)`);
    await admin.query(`analyze ${table}`);
    const before = (await admin.query<{ heap: string; total: string }>(`select pg_relation_size('${table}') as heap, pg_total_relation_size('${table}') as total`)).rows[0]!;

    const session = await monitorSession();
    const reader = postgresStorage(session, defaultStorageOptions);
    // A migration rewriting the table: ALTER ... TYPE takes ACCESS EXCLUSIVE on it, its indexes and
    // its TOAST table, held until the transaction ends.
    const migration = await client(`${tag}/migration`);
    await migration.query('begin');
    await migration.query(`alter table ${table} alter column v type bigint`);
    try {
      const held = await admin.query(`select 1 from pg_locks where relation = '${table}'::regclass and mode = 'AccessExclusiveLock' and granted`);
      expect(held.rowCount).toBe(1);

      // What the catalog approach avoids: the size functions open the relation and wait for the
      // lock, which the monitor's 100 ms lock_timeout turns into an error.
      await expect(session.query(`select pg_total_relation_size('${table}'::regclass)`)).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });

      // The budget a 1 Hz monitor gives a reading right after a sample.
      const budget = storageBudgetMs(1000, monitorSessionLimits.statementTimeoutMs);
      const started = performance.now();
      const reading = await reader.read(budget);
      const took = performance.now() - started;
      expect(took).toBeLessThan(budget);
      expect(took).toBeLessThan(monitorSessionLimits.statementTimeoutMs);
      const row = reading.tables.find((t) => t.schema === 'public' && t.name === table);
      expect(row, `not among the ${reading.tables.length} largest: ${reading.tables.map((t) => `${t.name} ${t.totalBytes}`).join(', ')}`).toBeDefined();
      expect(row!.tableBytes).toBe(Number(before.heap));
      // The catalog counts the table, its indexes and TOAST; pg_total_relation_size also counts
      // the free-space and visibility maps, a few pages more.
      expect(row!.totalBytes).toBeLessThanOrEqual(Number(before.total));
      expect(row!.totalBytes).toBeGreaterThan(Number(before.total) * 0.9);
      expect(reading.skipped).toEqual([]);

      // The live sample on the same session is not held up either.
      const live = samplers.postgres!(session, { profileId: 'storage', longRunningMs: 60_000, topStatements: 20 });
      await live.between?.(1000);
      const sample = sampleSchema.parse(await live.sample());
      expect(sample.errors).toEqual([]);
      expect(sample.statements).toBeDefined();
    } finally {
      await migration.query('rollback');
    }
  });

  it('in the monitor service: samples carry the last reading with its readAt, and a storage query that never ends delays no sample', async () => {
    core = await createCore({ transport: 'host', dataDir: path.join(dir, 'core'), secretStore: new MemorySecretStore() });
    const saved = await core.dispatch('profiles/save', {
      profile: { name: 'storage', engine: 'postgres', environment: 'staging', host: server.host, port: server.port, database: server.database, user: server.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': server.password },
    });
    if (!saved.ok) throw new Error(saved.error.message);
    const profileId = (saved.result as ProfileSummary).profile.id;

    // A reader whose query would run for half a minute: only the time box ends it.
    let attempts = 0;
    const hanging: StorageReaderFactory = forSql((session) => ({
      async read(budgetMs) {
        attempts++;
        const pinned = await session.pin();
        try {
          await pinned.query(`begin; set local statement_timeout = ${Math.floor(budgetMs)}`);
          await pinned.query('/* flightdeck/monitor: storage */ select pg_sleep(30)');
          throw new Error('pg_sleep(30) was not cut off');
        } catch (e) {
          await pinned.query('rollback');
          throw e instanceof Error && /cut off/.test(e.message) ? e : new StorageReadError('Not read this time: cut off.');
        } finally {
          pinned.release(false);
        }
      },
    }));

    for (const [name, factory, storageIntervalMs] of [
      ['real', postgresStorage, 1500],
      ['hanging', hanging, 500],
    ] as const) {
      const monitor = new MonitorService({
        profiles: core.services.profiles,
        resolveSecrets: (id) => core!.services.connections.resolveSecrets(id),
        hostKeys: core.services.hostKeys,
        events: core.events,
        log: createLogger(undefined),
        samplers,
        storageReaders: { postgres: factory },
      });
      const samples: Sample[] = [];
      const unsubscribe = core.events.subscribe((e) => {
        if (e.event === 'monitor/sample' && e.payload.profileId === profileId) samples.push(sampleSchema.parse(e.payload));
      });
      try {
        await monitor.start(profileId, { intervalMs: 500, longRunningMs: 60_000, storageIntervalMs });
        await expect.poll(() => samples.length, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(12);
      } finally {
        await monitor.stop(profileId);
        unsubscribe();
      }
      const withStorage = samples.filter((s) => s.storage);
      expect(withStorage.length, name).toBeGreaterThan(0);
      // From the second gap on (the first sample also connects): the interval holds even though a
      // storage reading ran after most samples.
      const gaps = samples.slice(2).map((s, i) => s.time - samples[i + 1]!.time);
      expect(Math.max(...gaps), `${name}: gaps ${gaps.join(', ')}`).toBeLessThan(500 + 150);
      expect(Math.max(...samples.slice(1).map((s) => s.durationMs)), name).toBeLessThan(250);
      if (name === 'real') {
        const readAts = [...new Set(withStorage.map((s) => s.storage!.readAt))];
        // 1.5 s apart over about 6 s of samples.
        expect(readAts.length).toBeGreaterThanOrEqual(2);
        for (const s of withStorage) {
          expect(s.storage!.readAt).not.toBeNull();
          expect(s.storage!.readAt!).toBeLessThanOrEqual(s.time);
          expect(s.storage!.error).toBeUndefined();
          expect(s.storage!.intervalMs).toBe(1500);
        }
        expect(withStorage.at(-1)!.storage!.tables.length).toBeGreaterThan(0);
      } else {
        expect(attempts).toBeGreaterThanOrEqual(2);
        const last = withStorage.at(-1)!.storage!;
        expect(last.readAt).toBeNull();
        expect(last.error?.message).toMatch(/not read this time/i);
      }
    }
  });
});

// The migration runner on the real test PostgreSQL: each test gets a database of its own and a
// migration set written for it, and checks what the server really holds afterwards.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { FailureRecord } from '../../shared/migrations';
import { readJournal } from '../../main/journal/run-journal';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { forceVersion, type RunAction, type RunOptions } from '../../main/migrations/runner';
import { diffSchemas, formatSchemaDiff } from '../../main/schema/schema-fingerprint';
import { caught, closeOpened, fingerprintOf, runSet, statusOf, postgresTestDb, sqlSession, writeSet, type TestDb } from '../support/migration-dbs';
import { describeWith } from '../support/servers';

const journalDir = path.join(os.tmpdir(), `fd-journal-${process.pid}`);
const fixtures = path.resolve(import.meta.dirname, '../fixtures/migrations');


describeWith('postgres', 'migration runner on PostgreSQL', (server) => {
  const dbs: TestDb[] = [];
  afterEach(async () => {
    await closeOpened();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
    await fs.rm(journalDir, { recursive: true, force: true });
  });
  async function db(): Promise<TestDb> {
    const d = await postgresTestDb(server, 'fdmig');
    dbs.push(d);
    return d;
  }
  const run = (d: TestDb, dir: string, action: RunAction, opts: Partial<RunOptions> = {}) => runSet(d, dir, action, { journalDir, defaultLockTimeoutMs: 200, ...opts });
  const status = statusOf;
  const fingerprint = fingerprintOf;

  it('takes a realistic set of 30+ migrations up, down to zero and up again, with the same schema each way', { timeout: 120_000 }, async () => {
    const d = await db();
    const dir = path.join(fixtures, 'postgres-shop');
    const set = await readMigrationSet(dir);
    expect(set.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(set.migrations.length).toBeGreaterThanOrEqual(30);
    const empty = await fingerprint(d);

    const up = await run(d, dir, { kind: 'up' });
    expect(up.steps).toHaveLength(set.migrations.length);
    expect(up.toVersion).toBe(set.migrations[set.migrations.length - 1]!.version);
    const once = await fingerprint(d);
    expect(once.entries.length).toBeGreaterThan(50);
    // The set really has what the issue asks for, as the server sees it.
    const keys = once.entries.map((e) => e.key).join('\n');
    expect(keys).toMatch(/^routine public\..*\(/m);
    expect(once.entries.some((e) => e.key.startsWith('type ') && e.definition.startsWith('enum'))).toBe(true);

    const down = await run(d, dir, { kind: 'goto', version: 0 });
    expect(down.toVersion).toBeNull();
    const back = await fingerprint(d);
    expect(formatSchemaDiff(diffSchemas(empty, back), ['before', 'after down'])).toBe('The schemas are identical.');

    await run(d, dir, { kind: 'up' });
    const twice = await fingerprint(d);
    expect(formatSchemaDiff(diffSchemas(once, twice), ['first up', 'second up'])).toBe('The schemas are identical.');
    const s = await status(d, dir);
    expect(s).toMatchObject({ dirty: false, failure: null, pending: [], drift: [] });
    expect(s.applied.every((a) => a.checksum !== null)).toBe(true);
  });

  it('a failure after statements that committed on their own leaves an exact record, refuses to go on, and force repairs it', async () => {
    const d = await db();
    const dir = await writeSet({
      '1_init.up.sql': 'create table items (id int primary key, qty int);\ninsert into items values (1, 1);\n',
      '1_init.down.sql': 'drop table items;\n',
      '2_qty.up.sql': 'alter table items add column note text;\n\ncreate index concurrently items_note on items (note);\n-- the next one fails at run time\nupdate items set qty = qty / 0;\nalter table items add column never int;\n',
      '2_qty.down.sql': 'drop index concurrently if exists items_note;\nalter table items drop column note;\n',
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_FAILED');
    expect(e.message).toContain('2_qty.up.sql:5');
    expect(e.message).toContain('division by zero');
    const record = e.details!.record as FailureRecord;
    expect(record.applied.map((s) => s.line)).toEqual([1, 3]);
    expect(record.notApplied.map((s) => s.line)).toEqual([5, 6]);
    expect(record.error.sqlstate).toBe('22012');
    // What the server holds matches the record: the column and index are there, the rest is not.
    const cols = await d.query<{ column_name: string }>("select column_name from information_schema.columns where table_name = 'items' order by ordinal_position");
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'qty', 'note']);
    expect(await d.query("select 1 from pg_indexes where indexname = 'items_note'")).toHaveLength(1);

    const s = await status(d, dir);
    expect(s).toMatchObject({ version: 2, dirty: true });
    expect(s.failure).toMatchObject({ version: 2, direction: 'up', statement: { line: 5 } });
    expect((await caught(run(d, dir, { kind: 'up' }))).code).toBe('MIGRATION_DIRTY');

    // The DBA finishes the remaining statement by hand and declares version 2.
    await d.query('alter table items add column never int');
    const conn = await d.open();
    const forced = await forceVersion(conn, await readMigrationSet(dir), 2, { journalDir });
    await conn.close();
    expect(forced).toMatchObject({ previous: { version: 2, dirty: true }, version: 2, settledSteps: 1 });
    expect(await status(d, dir)).toMatchObject({ version: 2, dirty: false, failure: null });
    const rows = await d.query<{ status: string; statements_applied: number }>('select status, statements_applied from flightdeck_migration_steps where version = 2');
    expect(rows).toEqual([{ status: 'forced', statements_applied: 2 }]);
    // The golang-migrate table looks exactly as golang-migrate leaves it.
    expect(await d.query('select version::int, dirty from schema_migrations')).toEqual([{ version: 2, dirty: false }]);
  });

  it('a failing single-transaction migration applies nothing and leaves the database clean, with the record kept', async () => {
    const d = await db();
    const dir = await writeSet({
      '1_a.up.sql': 'create table a (id int primary key);\n',
      '1_a.down.sql': 'drop table a;\n',
      '2_b.up.sql': 'create table b (id int primary key);\ninsert into b values (1);\ninsert into b values (1);\n',
      '2_b.down.sql': 'drop table b;\n',
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_FAILED');
    expect(e.message).toContain('2_b.up.sql:3');
    expect(e.message).toContain('Nothing was applied');
    expect(await d.query("select 1 from pg_class where relname = 'b'")).toHaveLength(0);
    expect(await status(d, dir)).toMatchObject({ version: 1, dirty: false, failure: null });
    const kept = await d.query<{ status: string; record: FailureRecord }>("select status, record from flightdeck_migration_steps where version = 2");
    expect(kept[0]!.status).toBe('rolled-back');
    expect(kept[0]!.record.error.sqlstate).toBe('23505');
  });

  it('a syntax error on line 40 of the third file is reported with file and line before anything is applied', async () => {
    const d = await db();
    const filler = Array.from({ length: 38 }, (_, i) => `-- line ${i + 2}`).join('\n');
    const dir = await writeSet({
      '1_a.up.sql': 'create table a (id int);\n',
      '1_a.down.sql': 'drop table a;\n',
      '2_b.up.sql': 'create table b (id int);\n',
      '2_b.down.sql': 'drop table b;\n',
      '3_c.up.sql': `create table c (id int);\n${filler}\nalter table c add colum x int;\n`,
      '3_c.down.sql': 'drop table c;\n',
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toMatch(/^3_c\.up\.sql:40:\d+: syntax error at or near "int"/);
    expect(await d.query("select 1 from pg_class where relname in ('a', 'b', 'c')")).toHaveLength(0);
    expect((await status(d, dir)).version).toBeNull();
  });

  it('two runners at once: the second waits for the lock, then names the session holding it', async () => {
    const d = await db();
    const dir = await writeSet({ '1_slow.up.sql': 'create table slow (id int);\nselect pg_sleep(3);\n', '1_slow.down.sql': 'drop table slow;\n' });
    const first = run(d, dir, { kind: 'up' });
    // Wait until the first runner holds its advisory lock.
    let holderPid: number | undefined;
    for (let i = 0; i < 100 && !holderPid; i++) {
      const r = await d.query<{ pid: number }>("select pid from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())");
      holderPid = r[0]?.pid;
      if (!holderPid) await new Promise((r) => setTimeout(r, 50));
    }
    expect(holderPid).toBeDefined();
    const started = Date.now();
    const e = await caught(run(d, dir, { kind: 'up', }, { runnerLockWaitMs: 800 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(e.code).toBe('RUNNER_LOCKED');
    expect(e.message).toContain(`session ${holderPid}`);
    expect(e.message).toContain('application "flightdeck/migration"');
    expect(e.details!.holder).toMatchObject({ processId: holderPid, application: 'flightdeck/migration', user: 'flightdeck' });
    const r = await first;
    expect(r.toVersion).toBe(1);
    // With a long enough wait, the second runner goes on after the first and finds nothing to do.
    const second = await run(d, dir, { kind: 'up' }, { runnerLockWaitMs: 10_000 });
    expect(second.steps).toEqual([]);
  });

  it('a DDL blocked by a long transaction retries on lock_timeout and never stalls other sessions longer than lock_timeout', { timeout: 60_000 }, async () => {
    const d = await db();
    const dir = await writeSet({
      '1_t.up.sql': 'create table busy (id int primary key, v int);\ninsert into busy select g, g from generate_series(1, 1000) g;\n',
      '1_t.down.sql': 'drop table busy;\n',
      '2_alter.up.sql': 'alter table busy add column flag boolean;\n',
      '2_alter.down.sql': 'alter table busy drop column flag;\n',
    });
    await run(d, dir, { kind: 'up', steps: 1 });

    // A long transaction holds ACCESS SHARE on the table for 3 s.
    const holder = await d.open({ poolSize: 1 });
    const hold = sqlSession(holder).pin();
    const h = await hold;
    await h.query('begin');
    await h.query('select count(*) from busy');
    const releaseAt = setTimeout(() => void h.query('commit'), 3000);

    // The application keeps reading the table every 25 ms; each read's latency is recorded.
    const latencies: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const t = performance.now();
        await d.query('select count(*) from busy');
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const lockTimeoutMs = 200;
    const result = await run(d, dir, { kind: 'up' }, { lockTimeoutMs, lockRetry: { attempts: 30, baseDelayMs: 200, maxDelayMs: 800 } });
    reading = false;
    await reader;
    clearTimeout(releaseAt);
    h.release(true);
    await holder.close();

    expect(result.steps[0]).toMatchObject({ version: 2, lockRetries: expect.any(Number) });
    expect(result.steps[0]!.lockRetries).toBeGreaterThanOrEqual(2);
    const worst = Math.max(...latencies);
    // Each attempt queues the reads behind it for at most lock_timeout; the margin is for a busy
    // two-core machine, well under what a stalled ALTER would cost (the full 3 s).
    expect(worst).toBeLessThan(lockTimeoutMs + 250);
    expect(latencies.length).toBeGreaterThan(30);
    console.log(`lock retry: ${result.steps[0]!.lockRetries} retries, ${latencies.length} reads, worst read ${worst.toFixed(0)} ms (lock_timeout ${lockTimeoutMs} ms)`);
    const journal = await readJournal(result.journalFile);
    expect(journal.filter((j) => j.type === 'lock-retry').length).toBe(result.steps[0]!.lockRetries);
    expect(journal[journal.length - 1]!.type).toBe('run-done');
    // The journal names every statement it ran, and times the step.
    const start = journal.find((j) => j.type === 'step-start' && j.version === 2) as unknown as { units: { statements: { line: number; summary: string }[] }[] };
    expect(start.units[0]!.statements[0]).toEqual({ line: 1, summary: 'alter table busy add column flag boolean' });
    expect(journal.find((j) => j.type === 'step-done' && j.version === 2)).toMatchObject({ statements: 1, lockRetries: result.steps[0]!.lockRetries, durationMs: expect.any(Number) });
  });

  it('gives up after the configured attempts with a clear error, leaving the database as it was', async () => {
    const d = await db();
    const dir = await writeSet({
      '1_t.up.sql': 'create table held (id int);\n',
      '1_t.down.sql': 'drop table held;\n',
      '2_alter.up.sql': 'alter table held add column x int;\n',
      '2_alter.down.sql': 'alter table held drop column x;\n',
    });
    await run(d, dir, { kind: 'up', steps: 1 });
    const holder = await d.open({ poolSize: 1 });
    const h = await sqlSession(holder).pin();
    await h.query('begin');
    await h.query('lock table held in access share mode');
    const e = await caught(run(d, dir, { kind: 'up' }, { lockRetry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 100 } }));
    await h.query('rollback');
    h.release(true);
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.message).toContain('gave up after 3 attempts');
    expect(e.message).toContain('2_alter.up.sql:1');
    expect(await status(d, dir)).toMatchObject({ version: 1, dirty: false });
  });

  it('cancelling stops the running statement and rolls its transaction back', async () => {
    const d = await db();
    const dir = await writeSet({ '1_slow.up.sql': 'create table never (id int);\nselect pg_sleep(20);\n', '1_slow.down.sql': 'drop table never;\n' });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 700);
    const started = Date.now();
    const e = await caught(run(d, dir, { kind: 'up' }, { signal: abort.signal }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.code).toBe('CANCELLED');
    expect(await d.query("select 1 from pg_class where relname = 'never'")).toHaveLength(0);
    expect(await status(d, dir)).toMatchObject({ version: null, dirty: false });
  });

  it('reports drift when an applied file is edited, but not for a change of line endings', async () => {
    const d = await db();
    const dir = await writeSet({ '1_a.up.sql': 'create table a (id int);\n', '1_a.down.sql': 'drop table a;\n' });
    await run(d, dir, { kind: 'up' });
    await fs.writeFile(path.join(dir, '1_a.up.sql'), 'create table a (id int);\r\n');
    expect((await status(d, dir)).drift).toEqual([]);
    await fs.writeFile(path.join(dir, '1_a.up.sql'), 'create table a (id bigint);\n');
    expect((await status(d, dir)).drift).toMatchObject([{ version: 1, file: '1_a.up.sql' }]);
  });

  it('reads and reports an existing Flyway history without writing to it', async () => {
    const d = await db();
    await d.query(`create table flyway_schema_history (installed_rank int primary key, version varchar(50), description varchar(200) not null, type varchar(20) not null,
      script varchar(1000) not null, checksum int, installed_by varchar(100) not null, installed_on timestamp not null default now(), execution_time int not null, success boolean not null)`);
    await d.query(`insert into flyway_schema_history values
      (1, '1', 'create customers', 'SQL', 'V1__create_customers.sql', 1, 'app', now(), 12, true),
      (2, '2', 'add orders', 'SQL', 'V2__add_orders.sql', 2, 'app', now(), 30, true),
      (3, '3', 'broken index', 'SQL', 'V3__broken_index.sql', 3, 'app', now(), 5, false)`);
    const dir = await writeSet({ 'V1__create_customers.sql': 'create table customers (id int);\n', 'U1__create_customers.sql': 'drop table customers;\n' });
    const s = await status(d, dir);
    expect(s.flyway).toEqual({ table: 'flyway_schema_history', latestVersion: '2', entries: 3, failed: [{ version: '3', description: 'broken index' }] });
    expect(await d.query('select count(*)::int as n from flyway_schema_history')).toEqual([{ n: 3 }]);
  });

  it('a file\'s own SET lock_timeout lasts for that file only; the next file in the run has the runner\'s', async () => {
    const d = await db();
    await d.query('create table held (id int)');
    const dir = await writeSet({
      '1_t.up.sql': "SET lock_timeout = '30s';\ncreate table other (id int);\n",
      '1_t.down.sql': 'drop table other;\n',
      '2_alter.up.sql': 'alter table held add column x int;\n',
      '2_alter.down.sql': 'alter table held drop column x;\n',
    });
    const holder = await d.open({ poolSize: 1 });
    const h = await sqlSession(holder).pin();
    await h.query('begin');
    await h.query('lock table held in access share mode');
    const started = Date.now();
    const e = await caught(run(d, dir, { kind: 'up' }, { lockRetry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } }));
    const waited = Date.now() - started;
    await h.query('rollback');
    h.release(true);
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.message).toContain('2_alter.up.sql:1');
    // 200 ms, not the 30 s the first file set for itself.
    expect(waited).toBeLessThan(5000);
    expect(await status(d, dir)).toMatchObject({ version: 1, dirty: false });
  });
});

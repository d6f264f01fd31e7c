// The migration runner on the real test MariaDB, where DDL commits implicitly: the record must list
// exactly the statements that took effect, and metadata-lock waits are bounded by lock_wait_timeout.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { FailureRecord } from '../../shared/migrations';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { forceVersion, type RunAction, type RunOptions } from '../../main/migrations/runner';
import { diffSchemas, formatSchemaDiff } from '../../main/schema/schema-fingerprint';
import { caught, closeOpened, fingerprintOf, runSet, statusOf, mariadbTestDb, sqlSession, writeSet, type TestDb } from '../support/migration-dbs';
import { describeWith } from '../support/servers';

const journalDir = path.join(os.tmpdir(), `fd-journal-my-${process.pid}`);
const fixtures = path.resolve(import.meta.dirname, '../fixtures/migrations');


describeWith('mariadb', 'migration runner on MariaDB', (server) => {
  const dbs: TestDb[] = [];
  afterEach(async () => {
    await closeOpened();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
    await fs.rm(journalDir, { recursive: true, force: true });
  });
  async function db(): Promise<TestDb> {
    const d = await mariadbTestDb(server, 'fdmig');
    dbs.push(d);
    return d;
  }
  const run = (d: TestDb, dir: string, action: RunAction, opts: Partial<RunOptions> = {}) => runSet(d, dir, action, { journalDir, defaultLockTimeoutMs: 1000, ...opts });
  const status = statusOf;
  const fingerprint = fingerprintOf;

  it('takes a realistic Flyway set of 30+ migrations up, down to zero and up again, with the same schema each way', { timeout: 120_000 }, async () => {
    const d = await db();
    const dir = path.join(fixtures, 'mariadb-shop');
    const set = await readMigrationSet(dir);
    expect(set.format).toBe('flyway');
    expect(set.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(set.migrations.length).toBeGreaterThanOrEqual(30);
    const empty = await fingerprint(d);
    await run(d, dir, { kind: 'up' });
    const once = await fingerprint(d);
    expect(once.entries.some((e) => e.key.startsWith('procedure '))).toBe(true);
    expect(once.entries.some((e) => e.key.startsWith('trigger '))).toBe(true);
    await run(d, dir, { kind: 'down', steps: 'all' });
    expect(formatSchemaDiff(diffSchemas(empty, await fingerprint(d)), ['before', 'after down'])).toBe('The schemas are identical.');
    await run(d, dir, { kind: 'up' });
    expect(formatSchemaDiff(diffSchemas(once, await fingerprint(d)), ['first up', 'second up'])).toBe('The schemas are identical.');
    expect(await status(d, dir)).toMatchObject({ dirty: false, failure: null, pending: [] });
  });

  it('lists exactly the DDL that took effect when a statement fails, and force repairs it', async () => {
    const d = await db();
    const dir = await writeSet({
      'V1__init.sql': 'CREATE TABLE items (id INT PRIMARY KEY, qty INT) ENGINE=InnoDB;\n',
      'U1__init.sql': 'DROP TABLE items;\n',
      'V2__more.sql': 'ALTER TABLE items ADD COLUMN note VARCHAR(40);\nCREATE INDEX items_note ON items (note);\nINSERT INTO items VALUES (1, 1, \'a;b\');\nINSERT INTO missing_table VALUES (1);\nALTER TABLE items ADD COLUMN never INT;\n',
      'U2__more.sql': 'ALTER TABLE items DROP COLUMN note;\n',
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_FAILED');
    expect(e.message).toContain('V2__more.sql:4');
    const record = e.details!.record as FailureRecord;
    // Two DDL statements committed implicitly; the DML pair ran in one transaction and rolled back.
    expect(record.applied.map((s) => s.line)).toEqual([1, 2]);
    expect(record.notApplied.map((s) => s.line)).toEqual([3, 4, 5]);
    expect(record.statement?.line).toBe(4);
    expect(await d.query('SELECT * FROM items')).toEqual([]);
    const cols = await d.query<{ c: string }>("SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION");
    expect(cols.map((c) => c.c)).toEqual(['id', 'qty', 'note']);
    expect(await status(d, dir)).toMatchObject({ version: 2, dirty: true, failure: { version: 2 } });
    expect((await caught(run(d, dir, { kind: 'up' }))).code).toBe('MIGRATION_DIRTY');

    // The DBA undoes the two statements by hand and declares version 1.
    await d.query('ALTER TABLE items DROP COLUMN note');
    const conn = await d.open();
    await forceVersion(conn, await readMigrationSet(dir), 1, { journalDir });
    await conn.close();
    expect(await status(d, dir)).toMatchObject({ version: 1, dirty: false, failure: null });
    expect(await d.query('SELECT version, dirty FROM schema_migrations')).toEqual([{ version: 1, dirty: 0 }]);
  });

  it('checks every statement with the server\'s parser before applying anything', async () => {
    const d = await db();
    const dir = await writeSet({
      'V1__a.sql': 'CREATE TABLE a (id INT);\n',
      'U1__a.sql': 'DROP TABLE a;\n',
      'V2__b.sql': 'CREATE TABLE b (id INT);\n\n\nALTER TABLE b\n  ADD COLUMN x INT DEFAULT;\n',
      'U2__b.sql': 'DROP TABLE b;\n',
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toMatch(/^V2__b\.sql:5: You have an error in your SQL syntax/);
    expect(await d.query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('a', 'b')")).toEqual([]);
  });

  it('an ALTER waiting on a metadata lock retries and holds up other sessions at most lock_wait_timeout', { timeout: 60_000 }, async () => {
    const d = await db();
    const dir = await writeSet({
      'V1__t.sql': 'CREATE TABLE busy (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;\nINSERT INTO busy VALUES (1, 1), (2, 2);\n',
      'U1__t.sql': 'DROP TABLE busy;\n',
      'V2__alter.sql': 'ALTER TABLE busy ADD COLUMN flag INT;\n',
      'U2__alter.sql': 'ALTER TABLE busy DROP COLUMN flag;\n',
    });
    await run(d, dir, { kind: 'up', steps: 1 });
    const holder = await d.open({ poolSize: 1 });
    const h = await sqlSession(holder).pin();
    await h.query('START TRANSACTION');
    await h.query('SELECT * FROM busy');
    const releaseAt = setTimeout(() => void h.query('COMMIT'), 3500);
    const latencies: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const t = performance.now();
        await d.query('SELECT COUNT(*) FROM busy');
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const result = await run(d, dir, { kind: 'up' }, { lockTimeoutMs: 1000, lockRetry: { attempts: 20, baseDelayMs: 200, maxDelayMs: 600 } });
    reading = false;
    await reader;
    clearTimeout(releaseAt);
    h.release(true);
    expect(result.steps[0]!.lockRetries).toBeGreaterThanOrEqual(1);
    const worst = Math.max(...latencies);
    // MariaDB counts lock_wait_timeout in whole seconds, so 1 s is the shortest bound it offers.
    expect(worst).toBeLessThan(1000 + 300);
    console.log(`MariaDB lock retry: ${result.steps[0]!.lockRetries} retries, ${latencies.length} reads, worst read ${worst.toFixed(0)} ms (lock_wait_timeout 1 s)`);
  });

  it('two runners at once: the second reports the connection holding the named lock', async () => {
    const d = await db();
    const dir = await writeSet({ 'V1__slow.sql': 'CREATE TABLE slow (id INT);\nDO SLEEP(3);\n', 'U1__slow.sql': 'DROP TABLE slow;\n' });
    const first = run(d, dir, { kind: 'up' });
    await new Promise((r) => setTimeout(r, 1000));
    const e = await caught(run(d, dir, { kind: 'up' }, { runnerLockWaitMs: 500 }));
    expect(e.code).toBe('RUNNER_LOCKED');
    expect(e.message).toMatch(/session \d+, user flightdeck/);
    expect((await first).toVersion).toBe(1);
  });
});

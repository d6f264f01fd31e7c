// The storage panel against the test MariaDB: table sizes from information_schema, the secondary
// index nothing has used (and not the unique one), with its size once the account may read InnoDB's
// statistics; and a reading while an online-schema-change cut-over (RENAME TABLE t TO t_old,
// t_new TO t) holds an exclusive metadata lock on a table: that table is reported as not sized this
// time, every other table is read, and the reading returns at once instead of waiting. The server
// is shared with other test files, so assertions look at this file's own tables.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { sampleSchema, storagePanelSchema } from '../../shared/monitor';
import type { Profile } from '../../shared/profile';
import { isSqlSession, type SqlSession } from '../../main/connections/adapter';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { monitorSessionLimits } from '../../main/monitor/monitor-service';
import { mysqlSampler } from '../../main/monitor/mysql-sampler';
import { mysqlStorage } from '../../main/monitor/mysql-storage';
import { storageBudgetMs, type StorageReader } from '../../main/monitor/storage';
import { describeWith, type AvailableServer } from '../support/servers';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWith('mariadb', 'MySQL/MariaDB storage panel', (db: AvailableServer<'mariadb'>) => {
  const tag = randomBytes(4).toString('hex');
  const monitorUser = `fd_stor_${tag}`;
  const monitorPassword = randomBytes(12).toString('base64url');
  const big = `fdstor_${tag}_big`;
  const cutA = `fdstor_${tag}_a`;
  const cutB = `fdstor_${tag}_b`;
  const tables = [big, cutA, cutB, `${cutA}_old`, `${cutB}_old`];
  const hosts = ['127.0.0.1', 'localhost'];

  let root: mysql.Connection;
  let session: SqlSession;
  const opened: OpenConnection[] = [];
  const clients: mysql.Connection[] = [];

  async function client(user = db.rootUser, password = db.rootPassword): Promise<mysql.Connection> {
    const c = await mysql.createConnection({ host: db.host, port: db.port, user, password, database: db.database });
    clients.push(c);
    return c;
  }

  function reader(top = 1000): StorageReader {
    return mysqlStorage(session, { topTables: top, unusedIndexes: 1000 });
  }

  beforeAll(async () => {
    root = await mysql.createConnection({ host: db.host, port: db.port, user: db.rootUser, password: db.rootPassword, database: db.database });
    // A monitoring account as a DBA would make one: PROCESS and performance_schema for the live
    // panels, and SELECT on the application's schema, without which information_schema lists none
    // of its tables.
    for (const host of hosts) {
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', [monitorUser, host, monitorPassword]);
      await root.query('GRANT PROCESS ON *.* TO ?@?', [monitorUser, host]);
      await root.query('GRANT SELECT ON performance_schema.* TO ?@?', [monitorUser, host]);
      await root.query(`GRANT SELECT ON \`${db.database}\`.* TO ?@?`, [monitorUser, host]);
    }
    await root.query(`CREATE TABLE ${big} (id INT PRIMARY KEY, v INT NOT NULL, u INT NOT NULL, payload VARCHAR(200) NOT NULL, KEY ${big}_v (v), UNIQUE KEY ${big}_u (u)) ENGINE=InnoDB`);
    await root.query(`INSERT INTO ${big} SELECT seq, seq, seq, REPEAT('x', 150) FROM seq_1_to_30000`);
    // InnoDB's persistent statistics (TABLE_ROWS, DATA_LENGTH, the index sizes) are refreshed in the
    // background; ANALYZE makes them current now.
    await root.query(`ANALYZE TABLE ${big}`);
    const profile: Profile = { id: `storage-${tag}`, name: 'storage test', engine: 'mysql', environment: 'staging', host: db.host, port: db.port, database: '', user: monitorUser, tls: { mode: 'disable' }, connectTimeoutMs: 3000 };
    const conn = await connectProfile(profile, { dbPassword: monitorPassword }, { hostKeys, role: 'monitor', poolSize: 1, ...monitorSessionLimits });
    opened.push(conn);
    if (!isSqlSession(conn.session)) throw new Error('not a SQL session');
    session = conn.session;
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(opened.map((c) => c.close()));
    if (!root) return;
    for (const t of tables) await root.query(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    for (const host of hosts) await root.query('DROP USER IF EXISTS ?@?', [monitorUser, host]).catch(() => undefined);
    await root.end();
  });

  it('sizes tables and lists the never-used secondary index, with its size once InnoDB statistics may be read', async () => {
    const first = storagePanelSchema.partial().parse(await reader().read(1500));
    const row = first.tables!.find((t) => t.schema === db.database && t.name === big);
    expect(row, JSON.stringify(first.tables!.map((t) => t.name))).toBeDefined();
    // 30,000 rows of about 170 bytes: several MB of clustered index, two secondary indexes.
    expect(row!.tableBytes).toBeGreaterThan(3 * 2 ** 20);
    expect(row!.indexBytes).toBeGreaterThan(2 ** 16);
    expect(row!.totalBytes).toBe(row!.tableBytes + row!.indexBytes);
    expect(row!.toastBytes).toBe(0);
    // TABLE_ROWS is InnoDB's estimate from sampled pages.
    expect(row!.liveRows).toBeGreaterThan(15_000);
    expect(row!.liveRows).toBeLessThan(60_000);
    expect(row!.bloatBytes).not.toBeNull();
    expect(row!.bloatRatio).toBeGreaterThanOrEqual(0);
    expect(row!.deadRows).toBeNull();
    expect(first.skipped).toEqual([]);

    // Inserting went through no index (performance_schema counts it under no index name); the
    // secondary index was never read. The unique index counts as used by its constraint.
    const unused = first.unusedIndexes!.filter((u) => u.table === big);
    expect(unused.map((u) => u.name)).toEqual([`${big}_v`]);
    expect(unused[0]).toMatchObject({ schema: db.database, bytes: null });
    expect(first.unusedIndexesHint).toContain(`GRANT SELECT ON mysql.innodb_index_stats TO '${monitorUser}'@`);
    // Counted since the server started.
    expect(first.indexStatsSince).toBeLessThan(Date.now());
    expect(first.indexStatsSince).toBeGreaterThan(Date.now() - 24 * 3_600_000);

    for (const host of hosts) await root.query('GRANT SELECT ON mysql.innodb_index_stats TO ?@?', [monitorUser, host]);
    const granted = await reader().read(1500);
    expect(granted.unusedIndexesHint).toBeUndefined();
    const sized = granted.unusedIndexes.find((u) => u.table === big && u.name === `${big}_v`);
    expect(sized!.bytes).toBeGreaterThan(2 ** 16);

    await root.query(`SELECT COUNT(*) FROM ${big} FORCE INDEX (${big}_v) WHERE v BETWEEN 10 AND 20`);
    const used = await reader().read(1500);
    expect(used.unusedIndexes.some((u) => u.table === big)).toBe(false);
  });

  it('returns at once while a cut-over RENAME holds an exclusive metadata lock: that table is skipped, the others sized', async () => {
    await root.query(`CREATE TABLE ${cutA} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB`);
    await root.query(`INSERT INTO ${cutA} SELECT seq, seq FROM seq_1_to_1000`);
    await root.query(`CREATE TABLE ${cutB} (id INT PRIMARY KEY) ENGINE=InnoDB`);
    // An application transaction still reading the new table, and the tool's atomic swap queued
    // behind it: RENAME takes its exclusive locks one table at a time, so it already holds the
    // first one (on cutA) while it waits for the second (cutB). This is how a pt-online-schema-
    // change or gh-ost cut-over stalls in production.
    const app = await client();
    await app.query('BEGIN');
    await app.query(`SELECT * FROM ${cutB}`);
    const tool = await client();
    const toolId = tool.threadId;
    await tool.query('SET SESSION lock_wait_timeout = 30');
    const renaming = tool.query(`RENAME TABLE ${cutA} TO ${cutA}_old, ${cutB} TO ${cutA}`).catch((e: unknown) => e);
    try {
      await expect
        .poll(async () => {
          const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT STATE AS s FROM information_schema.PROCESSLIST WHERE ID = ?', [toolId]);
          return String(rows[0]?.s ?? '');
        }, { timeout: 10_000, interval: 50 })
        .toMatch(/metadata lock/i);

      // What the lock does to a plain information_schema read: it waits lock_wait_timeout (here
      // 1 s, as on the monitoring session) for that one table.
      const plain = await client();
      await plain.query('SET SESSION lock_wait_timeout = 1');
      let t = performance.now();
      await plain.query('SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db.database, cutA]);
      expect(performance.now() - t).toBeGreaterThan(900);

      const budget = storageBudgetMs(1000, monitorSessionLimits.statementTimeoutMs);
      t = performance.now();
      const reading = await reader().read(budget);
      const took = performance.now() - t;
      expect(took).toBeLessThan(budget);
      expect(took).toBeLessThan(500);
      expect(reading.skipped).toContainEqual({ schema: db.database, name: cutA, reason: 'a DDL holds a metadata lock on it' });
      expect(reading.tables.some((r) => r.name === cutA)).toBe(false);
      // The table the application holds (shared lock only) and the rest are sized as usual.
      expect(reading.tables.find((r) => r.name === cutB)?.tableBytes).toBeGreaterThan(0);
      expect(reading.tables.find((r) => r.name === big)?.tableBytes).toBeGreaterThan(3 * 2 ** 20);

      // And the live panels keep their pace on the same session.
      t = performance.now();
      sampleSchema.parse(await mysqlSampler(session, { profileId: 'storage', longRunningMs: 60_000, topStatements: 20 }).sample());
      expect(performance.now() - t).toBeLessThan(1000);
    } finally {
      await app.query('ROLLBACK');
      expect(await renaming).not.toBeInstanceOf(Error);
    }
    // The swap went through once the transaction ended: the new table is sized under the old name.
    await sleep(50);
    const after = await reader().read(1500);
    expect(after.skipped.some((s) => s.name === cutA)).toBe(false);
    expect(after.tables.some((r) => r.name === cutA)).toBe(true);
    expect(after.tables.some((r) => r.name === `${cutA}_old`)).toBe(true);
  });

  it('says "not read this time" when the budget is too small for information_schema', async () => {
    await expect(reader().read(1)).rejects.toThrow(/not read this time/i);
  });
});

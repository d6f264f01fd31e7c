// The MySQL/MariaDB sampler against the test MariaDB: each condition is created by real sessions
// (a row lock held while another session waits, an ALTER queued behind an open transaction, extra
// connections, a statement run 100 times) and must show up in the sample. The server is shared
// with other test files running in parallel, so every assertion looks only at this file's own
// sessions (by thread id, program name, user) and its own table.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connectionLevelCodes, FlightdeckError } from '../../shared/errors';
import { sampleSchema, type Sample } from '../../shared/monitor';
import type { Profile } from '../../shared/profile';
import { isSqlSession, type SqlSession } from '../../main/connections/adapter';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { mysqlSampler } from '../../main/monitor/mysql-sampler';
import type { Sampler, SamplerOptions } from '../../main/monitor/sampler';
import { describeWith, type AvailableServer } from '../support/servers';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWith('mariadb', 'MySQL/MariaDB health sampler', (db: AvailableServer<'mariadb'>) => {
  const tag = randomBytes(4).toString('hex');
  // A monitoring account as a DBA would create one: PROCESS, replication monitoring and read access
  // to performance_schema, nothing on the application's data.
  const monitorUser = `fd_mon_${tag}`;
  const monitorPassword = randomBytes(12).toString('base64url');
  const poolUser = `fd_pool_${tag}`;
  const poolPassword = randomBytes(12).toString('base64url');
  const table = `fd_mon_${tag}`;
  const qualified = `flightdeck_test.${table}`;
  const mdlInstrument = 'wait/lock/metadata/sql/mdl';

  let root: mysql.Connection;
  let monitor: OpenConnection;
  let monitorSession: SqlSession;
  let mdlInitiallyOn = false;
  let statementsCurrentInitiallyOn = false;
  const clients: mysql.Connection[] = [];
  const openedMonitors: OpenConnection[] = [];

  function profile(user: string): Profile {
    return { id: `mysql-${tag}`, name: 'test mariadb', engine: 'mysql', environment: 'staging', host: db.host, port: db.port, database: '', user, tls: { mode: 'disable' }, connectTimeoutMs: 3000 };
  }

  /** The monitor's own session, as the monitor service opens it: small pool, tight limits. */
  async function openMonitor(user: string, password: string): Promise<SqlSession> {
    const conn = await connectProfile(profile(user), { dbPassword: password }, { hostKeys, role: 'monitor', poolSize: 1, statementTimeoutMs: 2000, lockTimeoutMs: 1000 });
    openedMonitors.push(conn);
    if (!isSqlSession(conn.session)) throw new Error('not a SQL session');
    return conn.session;
  }

  function samplerFor(session: SqlSession, over: Partial<SamplerOptions> = {}): Sampler {
    return mysqlSampler(session, { profileId: `mysql-${tag}`, longRunningMs: 60_000, topStatements: 200, ...over });
  }

  /** A client session of this test, named so the sample can be filtered to it. */
  async function client(program: string, user: string = db.user, password: string = db.password): Promise<mysql.Connection> {
    const c = await mysql.createConnection({ host: db.host, port: db.port, user, password, database: user === db.user ? db.database : undefined, connectAttributes: { program_name: program } });
    clients.push(c);
    return c;
  }

  async function sample(s: Sampler): Promise<Sample> {
    return sampleSchema.parse(await s.sample());
  }

  /** Samples until `check` holds, at most `tries` times, `gapMs` apart; returns the matching sample. */
  async function sampleUntil(s: Sampler, check: (x: Sample) => boolean, tries: number, gapMs = 250): Promise<Sample> {
    let last: Sample | undefined;
    for (let i = 0; i < tries; i++) {
      if (i > 0) await sleep(gapMs);
      last = await sample(s);
      if (check(last)) return last;
    }
    return last!;
  }

  /** Waits (outside the sampler) until a session shows the given process-list state. */
  async function untilState(threadId: number, state: RegExp): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT STATE AS s FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]);
      if (state.test(String(rows[0]?.s ?? ''))) return;
      await sleep(50);
    }
    throw new Error(`session ${threadId} never reached state ${state}`);
  }

  /** Waits until a session's transaction waits for a row lock. InnoDB refreshes INNODB_TRX only
   * after 0.1 s without readers, so polling any faster would keep reading the same old copy. */
  async function untilLockWait(threadId: number): Promise<void> {
    for (let i = 0; i < 40; i++) {
      await sleep(150);
      const [rows] = await root.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'", [threadId]);
      if (rows.length > 0) return;
    }
    throw new Error(`session ${threadId} never waited for a row lock`);
  }

  async function setInstrument(on: boolean): Promise<void> {
    await root.query("UPDATE performance_schema.setup_instruments SET ENABLED = ?, TIMED = ? WHERE NAME = ?", [on ? 'YES' : 'NO', on ? 'YES' : 'NO', mdlInstrument]);
  }

  async function setConsumer(name: string, on: boolean): Promise<void> {
    await root.query('UPDATE performance_schema.setup_consumers SET ENABLED = ? WHERE NAME = ?', [on ? 'YES' : 'NO', name]);
  }

  beforeAll(async () => {
    root = await mysql.createConnection({ host: db.host, port: db.port, user: db.rootUser, password: db.rootPassword });
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [monitorUser, '127.0.0.1', monitorPassword]);
    await root.query('GRANT PROCESS, SLAVE MONITOR ON *.* TO ?@?', [monitorUser, '127.0.0.1']);
    await root.query('GRANT SELECT ON performance_schema.* TO ?@?', [monitorUser, '127.0.0.1']);
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [poolUser, '127.0.0.1', poolPassword]);
    await root.query(`CREATE TABLE ${qualified} (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
    await root.query(`INSERT INTO ${qualified} VALUES (1, 0), (2, 0), (3, 0)`);
    const [instr] = await root.query<mysql.RowDataPacket[]>('SELECT ENABLED AS e FROM performance_schema.setup_instruments WHERE NAME = ?', [mdlInstrument]);
    mdlInitiallyOn = instr[0]?.e === 'YES';
    const [cons] = await root.query<mysql.RowDataPacket[]>("SELECT ENABLED AS e FROM performance_schema.setup_consumers WHERE NAME = 'events_statements_current'");
    statementsCurrentInitiallyOn = cons[0]?.e === 'YES';
    monitorSession = await openMonitor(monitorUser, monitorPassword);
    monitor = openedMonitors[0]!;
  });

  afterEach(async () => {
    // destroy() drops the socket: the server rolls back whatever a failed test left open.
    for (const c of clients.splice(0)) c.destroy();
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.destroy();
    for (const m of openedMonitors.splice(0)) await m.close();
    if (!root) return;
    await setInstrument(mdlInitiallyOn).catch(() => undefined);
    await setConsumer('events_statements_current', statementsCurrentInitiallyOn).catch(() => undefined);
    await setConsumer('statements_digest', true).catch(() => undefined);
    await root.query(`DROP TABLE IF EXISTS ${qualified}`).catch(() => undefined);
    await root.query('DROP USER IF EXISTS ?@?', [monitorUser, '127.0.0.1']).catch(() => undefined);
    await root.query('DROP USER IF EXISTS ?@?', [poolUser, '127.0.0.1']).catch(() => undefined);
    await root.end();
  });

  it('reads a standalone server: its connection limit, no rates on the first sample, not itself', async () => {
    const s = samplerFor(monitorSession);
    const first = await sample(s);
    expect(first.engine).toBe('mysql');
    expect(first.profileId).toBe(`mysql-${tag}`);
    expect(first.durationMs).toBeGreaterThan(0);
    const [limit] = await root.query<mysql.RowDataPacket[]>('SELECT @@max_connections AS m');
    expect(first.pool).toMatchObject({ max: Number(limit[0]!.m), reserved: 1 });
    // Binary log on and server id set, but no replica connected and no source configured.
    expect(first.replication).toEqual({ role: 'standalone', replicas: [], slots: [] });
    expect(first.activity).toMatchObject({ commitsPerSec: null, rollbacksPerSec: null, deadlocksPerSec: null, tempFilesPerSec: null, thresholdMs: 60_000 });
    expect(first.statements).toMatchObject({ available: true, top: [], intervalMs: null });
    expect(first.statements!.tracked).toBeGreaterThan(0);
    // The monitoring account has every grant it needs; only the instrument may be off.
    expect(first.errors.filter((e) => !e.message.includes(mdlInstrument))).toEqual([]);
    // The monitor's own session is not a client of the database.
    expect(first.pool!.byUser.map((u) => u.name)).not.toContain(monitorUser);

    const second = await sample(s);
    expect(second.activity!.commitsPerSec).not.toBeNull();
    expect(second.activity!.tempFilesPerSec).not.toBeNull();
    // MariaDB counts deadlocks in Innodb_deadlocks.
    expect(second.activity!.deadlocksPerSec).not.toBeNull();
  });

  it('counts N extra client connections by application and user, and forgets them when they close', async () => {
    const s = samplerFor(monitorSession);
    const program = `fd-pool-${tag}`;
    const before = await sample(s);
    expect(before.pool!.byApplication.find((a) => a.name === program)).toBeUndefined();
    const n = 10;
    for (let i = 0; i < n; i++) await client(program, poolUser, poolPassword);
    const after = await sample(s);
    const pool = after.pool!;
    expect(pool.byApplication.find((a) => a.name === program)?.count).toBe(n);
    expect(pool.byUser.find((u) => u.name === poolUser)?.count).toBe(n);
    // total is exactly the sessions listed per user (so the 10 raised it by 10), and each is in
    // one of the states.
    expect(pool.byUser.reduce((sum, u) => sum + u.count, 0)).toBe(pool.total);
    expect(pool.byApplication.reduce((sum, a) => sum + a.count, 0)).toBe(pool.total);
    expect(pool.active + pool.idle + pool.idleInTransaction).toBe(pool.total);
    expect(pool.idle).toBeGreaterThanOrEqual(n);
    const othersBefore = before.pool!.total;
    const othersAfter = pool.total - n;
    // Other test files come and go on the same server; the rise is N plus their drift.
    expect(pool.total - before.pool!.total).toBe(n + (othersAfter - othersBefore));

    for (const c of clients.splice(0)) await c.end();
    const gone = await sampleUntil(s, (x) => !x.pool!.byApplication.some((a) => a.name === program), 8);
    expect(gone.pool!.byApplication.find((a) => a.name === program)).toBeUndefined();
  });

  it('shows a row-lock wait with both thread ids, the mode and the table within 2 samples', async () => {
    await setConsumer('events_statements_current', true);
    try {
      const s = samplerFor(monitorSession);
      const holder = await client(`fd-holder-${tag}`);
      const waiter = await client(`fd-waiter-${tag}`);
      await holder.query('START TRANSACTION');
      await holder.query(`SELECT v FROM ${qualified} WHERE id = 1 FOR UPDATE`);
      // Short enough that a failed test cannot leave it hanging, long enough to be sampled twice.
      await waiter.query('SET SESSION innodb_lock_wait_timeout = 8');
      const update = waiter.query(`UPDATE ${qualified} SET v = v + 1 WHERE id = 1`).then(
        () => 'done',
        (e: unknown) => e,
      );
      const seen = await sampleUntil(s, (x) => x.locks!.waits.some((w) => w.pid === waiter.threadId), 2, 300);
      const wait = seen.locks!.waits.find((w) => w.pid === waiter.threadId);
      expect(wait, 'the waiting UPDATE is in the locks panel within 2 samples').toBeDefined();
      expect(wait).toMatchObject({ blockedBy: [holder.threadId], mode: 'X', relation: qualified, lockType: 'record', user: db.user, application: `fd-waiter-${tag}` });
      expect(wait!.query).toContain(`UPDATE ${qualified}`);
      expect(wait!.waitMs).toBeGreaterThanOrEqual(0);
      const blocker = seen.locks!.blockers.find((b) => b.pid === holder.threadId);
      expect(blocker).toMatchObject({ application: `fd-holder-${tag}`, state: 'idle in transaction', waiting: false, user: db.user });
      expect(blocker!.xactMs).not.toBeNull();
      // An idle blocker runs nothing; its last statement comes from events_statements_current.
      expect(blocker!.query).toMatch(/FOR UPDATE/);
      expect(seen.locks!.waiting).toBe(seen.locks!.waits.length);
      expect(seen.pool!.waiting).toBeGreaterThanOrEqual(1);

      await holder.query('ROLLBACK');
      expect(await update).toBe('done');
      await waiter.query('ROLLBACK');
      const after = await sample(s);
      expect(after.locks!.waits.find((w) => w.pid === waiter.threadId)).toBeUndefined();
    } finally {
      await setConsumer('events_statements_current', statementsCurrentInitiallyOn);
    }
  });

  it('shows a metadata-lock wait queue with its blockers, and samples in well under a second meanwhile', async () => {
    await setInstrument(true);
    const s = samplerFor(monitorSession);
    const reader = await client(`fd-mdl-reader-${tag}`);
    const alter = await client(`fd-mdl-alter-${tag}`);
    const late = await client(`fd-mdl-late-${tag}`);
    // The classic pile-up: an open transaction that read the table, an ALTER waiting for it, and
    // a plain SELECT queued behind the ALTER.
    await reader.query('START TRANSACTION');
    await reader.query(`SELECT COUNT(*) FROM ${qualified}`);
    await alter.query('SET SESSION lock_wait_timeout = 10');
    const altered = alter.query(`ALTER TABLE ${qualified} COMMENT = 'mdl test'`).then(
      () => 'done',
      (e: unknown) => e,
    );
    await untilState(alter.threadId, /Waiting for table metadata lock/);
    await late.query('SET SESSION lock_wait_timeout = 10');
    const selected = late.query(`SELECT COUNT(*) FROM ${qualified}`).then(
      () => 'done',
      (e: unknown) => e,
    );
    await untilState(late.threadId, /Waiting for table metadata lock/);

    const durations: number[] = [];
    let seen: Sample | undefined;
    for (let i = 0; i < 5; i++) {
      // Gaps as at 1 Hz (compressed): InnoDB's transaction view is refreshed after 0.1 s unread.
      await sleep(150);
      const t0 = performance.now();
      seen = await sample(s);
      durations.push(performance.now() - t0);
    }
    expect(Math.max(...durations), 'a sample never waits for the metadata lock').toBeLessThan(1000);
    const waits = seen!.locks!.waits;
    expect(waits.find((w) => w.pid === alter.threadId)).toMatchObject({ blockedBy: [reader.threadId], mode: 'MDL EXCLUSIVE', relation: qualified, lockType: 'metadata', application: `fd-mdl-alter-${tag}` });
    expect(waits.find((w) => w.pid === alter.threadId)!.query).toContain('ALTER TABLE');
    // The SELECT is compatible with the reader's lock but queues behind the ALTER's pending one.
    expect(waits.find((w) => w.pid === late.threadId)).toMatchObject({ blockedBy: [alter.threadId], mode: 'MDL SHARED_READ', relation: qualified });
    expect(seen!.locks!.blockers.find((b) => b.pid === reader.threadId)).toMatchObject({ state: 'idle in transaction', waiting: false });
    expect(seen!.locks!.blockers.find((b) => b.pid === alter.threadId)).toMatchObject({ waiting: true });
    expect(seen!.errors.filter((e) => e.panel === 'locks')).toEqual([]);

    await reader.query('ROLLBACK');
    expect(await altered).toBe('done');
    expect(await selected).toBe('done');
    const after = await sample(s);
    expect(after.locks!.waits.filter((w) => [alter.threadId, late.threadId].includes(w.pid))).toEqual([]);
  });

  it('without the metadata-lock instrument lists the wait without blockers and says how to enable it', async () => {
    await setInstrument(false);
    try {
      const s = samplerFor(monitorSession);
      const reader = await client(`fd-mdl-reader-${tag}`);
      const alter = await client(`fd-mdl-alter-${tag}`);
      await reader.query('START TRANSACTION');
      await reader.query(`SELECT COUNT(*) FROM ${qualified}`);
      await alter.query('SET SESSION lock_wait_timeout = 10');
      const altered = alter.query(`ALTER TABLE ${qualified} COMMENT = 'mdl test off'`).then(
        () => 'done',
        (e: unknown) => e,
      );
      await untilState(alter.threadId, /Waiting for table metadata lock/);
      const seen = await sample(s);
      expect(seen.locks!.waits.find((w) => w.pid === alter.threadId)).toMatchObject({ blockedBy: [], relation: 'table metadata lock', lockType: 'metadata' });
      const note = seen.errors.find((e) => e.panel === 'locks');
      expect(note?.message).toContain(`${mdlInstrument} instrument is off`);
      expect(note?.hint).toContain(`UPDATE performance_schema.setup_instruments SET ENABLED='YES', TIMED='YES' WHERE NAME='${mdlInstrument}'`);
      expect(note?.hint).toContain(`performance_schema_instrument='${mdlInstrument}=ON'`);
      // The other panels are unaffected.
      expect(seen.pool).toBeDefined();
      await reader.query('ROLLBACK');
      expect(await altered).toBe('done');
    } finally {
      await setInstrument(true);
    }
  });

  it('lists idle-in-transaction sessions, long transactions and long-running queries past the threshold', async () => {
    const s = samplerFor(monitorSession, { longRunningMs: 500 });
    const idle = await client(`fd-idle-${tag}`);
    const busy = await client(`fd-busy-${tag}`);
    await idle.query('START TRANSACTION');
    await idle.query(`SELECT v FROM ${qualified} WHERE id = 2`);
    const slept = busy.query('SELECT SLEEP(3) AS fd_long_running').then(
      () => 'done',
      (e: unknown) => e,
    );
    // performance_schema.threads counts whole seconds.
    await sleep(1300);
    const seen = await sampleUntil(
      s,
      (x) => x.activity!.longRunning.some((r) => r.pid === busy.threadId) && x.activity!.longTransactions.some((r) => r.pid === idle.threadId),
      6,
    );
    const activity = seen.activity!;
    expect(activity.thresholdMs).toBe(500);
    expect(activity.idleInTransaction.find((r) => r.pid === idle.threadId)).toMatchObject({ state: 'idle in transaction', user: db.user, application: `fd-idle-${tag}` });
    expect(activity.longTransactions.find((r) => r.pid === idle.threadId)!.durationMs).toBeGreaterThan(500);
    const running = activity.longRunning.find((r) => r.pid === busy.threadId);
    expect(running?.query).toContain('fd_long_running');
    expect(running!.durationMs).toBeGreaterThan(500);
    expect(seen.pool!.idleInTransaction).toBeGreaterThanOrEqual(1);
    await idle.query('ROLLBACK');
    expect(await slept).toBe('done');
    const after = await sample(s);
    expect(after.activity!.idleInTransaction.find((r) => r.pid === idle.threadId)).toBeUndefined();
  });

  it('turns commit, rollback and deadlock counters into per-second rates', async () => {
    const s = samplerFor(monitorSession);
    const a = await client(`fd-rates-a-${tag}`);
    const b = await client(`fd-rates-b-${tag}`);
    const before = await sample(s);
    for (let i = 0; i < 20; i++) {
      await a.query('START TRANSACTION');
      await a.query(`UPDATE ${qualified} SET v = v + 1 WHERE id = 3`);
      await a.query('COMMIT');
    }
    for (let i = 0; i < 5; i++) {
      await a.query('START TRANSACTION');
      await a.query('ROLLBACK');
    }
    // A real deadlock: each session holds the row the other one asks for.
    await a.query('SET SESSION innodb_lock_wait_timeout = 8');
    await b.query('SET SESSION innodb_lock_wait_timeout = 8');
    await a.query('START TRANSACTION');
    await b.query('START TRANSACTION');
    await a.query(`SELECT v FROM ${qualified} WHERE id = 1 FOR UPDATE`);
    await b.query(`SELECT v FROM ${qualified} WHERE id = 2 FOR UPDATE`);
    const aWaits = a.query(`SELECT v FROM ${qualified} WHERE id = 2 FOR UPDATE`).then(
      () => 'granted',
      (e: { code?: string }) => e.code ?? 'error',
    );
    await untilLockWait(a.threadId);
    const bWaits = await b.query(`SELECT v FROM ${qualified} WHERE id = 1 FOR UPDATE`).then(
      () => 'granted',
      (e: { code?: string }) => e.code ?? 'error',
    );
    expect([await aWaits, bWaits]).toContain('ER_LOCK_DEADLOCK');
    await a.query('ROLLBACK');
    await b.query('ROLLBACK');
    await sleep(1000);
    const after = await sample(s);
    const seconds = (after.time - before.time) / 1000;
    const act = after.activity!;
    // Other files run on the same server: at least ours.
    expect(act.commitsPerSec! * seconds).toBeGreaterThanOrEqual(19.5);
    expect(act.rollbacksPerSec! * seconds).toBeGreaterThanOrEqual(4.5);
    expect(act.deadlocksPerSec! * seconds).toBeGreaterThanOrEqual(0.9);
    expect(act.tempFilesPerSec).toBeGreaterThanOrEqual(0);
  });

  it('puts a statement run 100 times between two samples in the top statements with its calls', async () => {
    const probe = `fd_probe_${tag}`;
    const c = await client(`fd-statements-${tag}`);
    const s = samplerFor(monitorSession);
    /** The digest table is read less often than every sample when a reading is costly: wait for a
     * sample that carries a new reading. */
    const freshReading = (after: number) => sampleUntil(s, (x) => (x.statements?.readAt ?? 0) > after, 40, 100);
    await sample(s);
    const before = await freshReading(0);
    const beforeReadAt = before.statements!.readAt!;
    for (let i = 0; i < 100; i++) await c.query(`SELECT id AS ${probe} FROM ${qualified} WHERE id = ?`, [(i % 3) + 1]);
    const after = await freshReading(beforeReadAt);
    const stats = after.statements!;
    expect(stats.intervalMs).toBeGreaterThan(0);
    const seconds = stats.intervalMs! / 1000;
    const row = stats.top.find((r) => r.query.includes(probe));
    expect(row, 'the probe statement is among the top statements').toBeDefined();
    // The interval is the one between the two readings, so the rate gives back the count.
    expect(Math.round(row!.callsPerSec * seconds)).toBe(100);
    // Each call sends one row.
    expect(Math.round(row!.rowsPerSec! * seconds)).toBe(100);
    expect(row!.meanMs).toBeGreaterThan(0);
    expect(row!.totalMsPerSec).toBeGreaterThan(0);
    expect(row!.id).toMatch(/^flightdeck_test:[0-9a-f]{32}$/);
    expect(row!.baselineMeanMs).toBeNull();
    expect(stats.tracked).toBeGreaterThan(0);
    // A sample between readings repeats the last one, and says so by its age.
    expect(stats.readAt!).toBeLessThanOrEqual(Date.now());

    // A saved baseline is matched by statement id; an interval without a call of it leaves it out.
    const withBaseline = samplerFor(monitorSession, { baseline: new Map([[row!.id, 1.25]]) });
    const firstReading = await sample(withBaseline);
    for (let i = 0; i < 10; i++) await c.query(`SELECT id AS ${probe} FROM ${qualified} WHERE id = ?`, [1]);
    const again = await sampleUntil(withBaseline, (x) => (x.statements?.readAt ?? 0) > firstReading.statements!.readAt!, 40, 100);
    expect(again.statements!.top.find((r) => r.id === row!.id)?.baselineMeanMs).toBe(1.25);
    const quiet = await sampleUntil(withBaseline, (x) => (x.statements?.readAt ?? 0) > again.statements!.readAt!, 40, 100);
    expect(quiet.statements!.top.find((r) => r.id === row!.id)).toBeUndefined();
  });

  it('says how to enable statement digests when the consumer is off', async () => {
    const s = samplerFor(monitorSession);
    await setConsumer('statements_digest', false);
    let off: Sample;
    try {
      off = await sample(s);
    } finally {
      await setConsumer('statements_digest', true);
    }
    expect(off.statements).toMatchObject({ available: false, top: [], tracked: 0 });
    expect(off.statements!.hint).toContain("UPDATE performance_schema.setup_consumers SET ENABLED='YES' WHERE NAME='statements_digest'");
    // Back on: a new baseline, then rates again.
    expect((await sample(s)).statements).toMatchObject({ available: true, top: [] });
    expect((await sample(s)).statements!.available).toBe(true);
  });

  it('with an account lacking performance_schema and replication grants, panels say which GRANT is missing', async () => {
    const plain = await openMonitor(db.user, db.password);
    const s = samplerFor(plain);
    const program = `fd-plain-${tag}`;
    const c = await client(program);
    await sample(s);
    const seen = await sample(s);
    const account = `'${db.user}'@'127.0.0.1'`;
    expect(seen.statements).toMatchObject({ available: false, top: [] });
    expect(seen.statements!.hint).toContain(`GRANT SELECT ON performance_schema.* TO ${account}`);
    const byPanel = (panel: string) => seen.errors.filter((e) => e.panel === panel);
    expect(byPanel('replication')[0]?.hint).toContain(`GRANT SLAVE MONITOR ON *.* TO ${account}`);
    expect(byPanel('pool')[0]?.hint).toContain('GRANT SELECT ON performance_schema.*');
    expect(byPanel('locks')[0]?.hint).toContain('GRANT SELECT ON performance_schema.*');
    // Still counted (from information_schema), under "unknown" for want of program names.
    expect(seen.pool!.byUser.find((u) => u.name === db.user)?.count).toBeGreaterThanOrEqual(1);
    expect(seen.pool!.byApplication.map((a) => a.name)).not.toContain(program);
    expect(seen.replication!.role).toBe('standalone');
    expect(seen.activity!.commitsPerSec).not.toBeNull();
    expect(c.threadId).toBeGreaterThan(0);
  });

  it('resumes after its connection is killed, and throws a connection-level error once the session is closed', async () => {
    const s = samplerFor(monitorSession);
    await sample(s);
    const own = await monitorSession.query('SELECT CONNECTION_ID() AS id');
    const killed = Number(own[0]!.id);
    await root.query(`KILL ${killed}`);
    await sleep(200);
    // The pool notices the dead connection either before the next sample or during it (which then
    // throws); either way a sample succeeds again on a fresh connection.
    let resumed: Sample | undefined;
    for (let i = 0; i < 3 && !resumed; i++) {
      resumed = await s.sample().catch((e: unknown) => {
        expect(e).toBeInstanceOf(FlightdeckError);
        expect(connectionLevelCodes.has((e as FlightdeckError).code)).toBe(true);
        return undefined;
      });
    }
    expect(resumed).toBeDefined();
    sampleSchema.parse(resumed);
    expect(resumed!.pool!.byUser.map((u) => u.name)).not.toContain(monitorUser);

    const doomed = await openMonitor(monitorUser, monitorPassword);
    const d = samplerFor(doomed);
    await sample(d);
    await openedMonitors.pop()!.close();
    const err = await d.sample().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlightdeckError);
    expect(connectionLevelCodes.has((err as FlightdeckError).code)).toBe(true);
  });

  it('measures per-sample latency over 50 samples', async () => {
    const s = samplerFor(monitorSession);
    const times: number[] = [];
    let readings = 0;
    let lastReadAt = 0;
    for (let i = 0; i < 51; i++) {
      // Spaced as a cockpit would sample, only faster; back to back, InnoDB's transaction view and
      // the statements budget would make samples unrealistically cheap.
      await sleep(100);
      const t0 = performance.now();
      const x = await s.sample();
      // The first sample reads every digest once; the steady state is what the cockpit pays.
      if (i === 0) continue;
      times.push(performance.now() - t0);
      if ((x.statements?.readAt ?? 0) > lastReadAt) readings++;
      lastReadAt = x.statements?.readAt ?? lastReadAt;
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length * 0.5)]!;
    const p99 = times[Math.ceil(times.length * 0.99) - 1]!;
    const round = (v: number) => Math.round(v * 100) / 100;
    console.log(JSON.stringify({ mysqlSamplerLatencyMs: { samples: times.length, p50: round(p50), p99: round(p99), max: round(times[times.length - 1]!), digestReadings: readings } }));
    expect(p99).toBeLessThan(500);
    expect(monitor).toBeDefined();
  });
});

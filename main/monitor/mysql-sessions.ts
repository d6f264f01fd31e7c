// One reading of who is connected and what each session does, shared by the pool, activity, locks
// and replication panels: the process list joined (here, in memory) with InnoDB's open
// transactions and the program names clients announced. None of these sources opens a table or
// takes a metadata lock, so this reading never queues behind a migration's DDL.
import type { ActivityPanel, PoolPanel } from '../../shared/monitor';
import { isDenied, PanelProblem, type PanelError } from './mysql-panel-errors';
import { perfSchemaGrantHint, type MysqlServer, type PerfSchemaSetup, type Queryable } from './mysql-server';

/** Long statements (bulk INSERTs) would otherwise cost megabytes per sample. */
export const queryTextMax = 4096;

/** Lists beyond this are cut (longest first): a sample stays small even on a server in trouble. */
export const listMax = 100;

export interface OpenTransaction {
  state: string;
  ageMs: number;
  /** How long its current lock wait has lasted, when it waits. */
  waitMs: number | null;
  query: string | null;
}

export type SessionKind = 'client' | 'system' | 'replica-thread' | 'binlog-dump' | 'monitor';

export interface ServerSession {
  id: number;
  user: string;
  host: string;
  command: string;
  /** Time in the current command (running query, or idle time while sleeping). */
  timeMs: number;
  state: string;
  info: string | null;
  program: string | null;
  trx: OpenTransaction | null;
  kind: SessionKind;
}

export interface SessionSnapshot {
  sessions: ReadonlyMap<number, ServerSession>;
  /** Client sessions: everything but server threads, replication threads and our own session(s). */
  clients: readonly ServerSession[];
  maxConnections: number;
  /** Why program names are missing, when they are. */
  programNotice?: PanelError['message'];
  programHint?: string;
}

// Server-side threads that are no application's connection. 'Binlog Dump' threads are replicas
// pulling the binary log: the replication panel lists them, the pool does not count them.
const systemUsers = new Set(['system user', 'event_scheduler']);
const daemonCommands = new Set(['Daemon']);
const dumpCommands = new Set(['Binlog Dump', 'Binlog Dump GTID']);
const replicaCommands = new Set(['Slave_IO', 'Slave_SQL', 'Slave_worker']);

function kindOf(user: string, command: string, state: string, threadType: string): SessionKind {
  if (dumpCommands.has(command)) return 'binlog-dump';
  if (replicaCommands.has(command)) return 'replica-thread';
  if (systemUsers.has(user) || daemonCommands.has(command) || threadType === 'BACKGROUND') {
    // MySQL 8 runs its replication receiver and applier as 'system user' with command 'Connect'.
    return /source|master|relay log|coordinator|replica|slave/i.test(state) ? 'replica-thread' : 'system';
  }
  return 'client';
}

const num = (v: unknown): number => (v === null || v === undefined || v === '' ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A session waits for a lock the server names in its state (metadata, table, global read, backup,
 * user locks); InnoDB row-lock waits show up as transactions in LOCK WAIT instead. */
export function lockWaitState(state: string): boolean {
  return /^Waiting for .*lock$/i.test(state) || /^User lock$/i.test(state);
}

/**
 * InnoDB serves INNODB_TRX (and INNODB_LOCKS / INNODB_LOCK_WAITS) from a cache it refreshes only
 * when nobody has read it for 0.1 s, so all three agree with each other but may lag the process
 * list. A session the process list shows idle cannot be in the middle of a lock wait, whatever the
 * cache says.
 */
export function waitsForRowLock(s: ServerSession): boolean {
  return s.trx?.state === 'LOCK WAIT' && s.command !== 'Sleep';
}

export function isWaiting(s: ServerSession): boolean {
  return waitsForRowLock(s) || lockWaitState(s.state);
}

export function idleInTransaction(s: ServerSession): boolean {
  return s.command === 'Sleep' && s.trx !== null;
}

/**
 * The process list, from performance_schema.threads when it can be read: the information_schema
 * table is materialised per query into a temporary table (on MariaDB an on-disk Aria table, since
 * INFO is a BLOB), which would make the monitor itself show up as one temporary table per second
 * in the activity panel, and MySQL 8 deprecates it. performance_schema.threads has whole seconds
 * where MariaDB's PROCESSLIST has milliseconds, which is enough at one sample per second.
 */
async function readProcessList(session: Queryable, server: MysqlServer, fromPerfSchema: boolean): Promise<Record<string, unknown>[]> {
  const extra = 'CONNECTION_ID() AS self, @@GLOBAL.max_connections AS max_conn';
  if (fromPerfSchema) {
    try {
      return await session.query(
        'SELECT PROCESSLIST_ID AS id, PROCESSLIST_USER AS user, PROCESSLIST_HOST AS host, PROCESSLIST_COMMAND AS command, PROCESSLIST_TIME * 1000 AS time_ms, ' +
          `PROCESSLIST_STATE AS state, LEFT(PROCESSLIST_INFO, ${queryTextMax}) AS info, TYPE AS type, ${extra} FROM performance_schema.threads WHERE PROCESSLIST_ID IS NOT NULL`,
      );
    } catch (e) {
      if (!isDenied(e)) throw e;
    }
  }
  // MariaDB has TIME_MS; MySQL only whole seconds.
  const timeMs = server.mariadb ? 'TIME_MS' : 'TIME * 1000';
  return session.query(
    `SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, ${timeMs} AS time_ms, STATE AS state, LEFT(INFO, ${queryTextMax}) AS info, NULL AS type, ${extra} FROM information_schema.PROCESSLIST`,
  );
}

/**
 * Reads the process list and open transactions. `ownIds` holds the connection ids this sampler has
 * run on (a pool may hold more than one); it is updated with the id this reading ran on and pruned
 * of ids that are gone, since MySQL never reuses a connection id while the server runs.
 * `threadsComplete` is false once performance_schema has dropped threads for lack of room
 * (Performance_schema_thread_instances_lost), when only information_schema lists every session.
 */
export async function readSessions(session: Queryable, server: MysqlServer, setup: PerfSchemaSetup | PanelProblem, ownIds: Set<number>, threadsComplete = true): Promise<SessionSnapshot> {
  const rows = await readProcessList(session, server, threadsComplete && !(setup instanceof PanelProblem));
  let trxRows;
  try {
    // trx_started has whole seconds; NOW(6) keeps the error under a second either way.
    trxRows = await session.query(
      'SELECT trx_mysql_thread_id AS id, trx_state AS state, TIMESTAMPDIFF(MICROSECOND, trx_started, NOW(6)) AS age_us, ' +
        `TIMESTAMPDIFF(MICROSECOND, trx_wait_started, NOW(6)) AS wait_us, LEFT(trx_query, ${queryTextMax}) AS query FROM information_schema.INNODB_TRX`,
    );
  } catch (e) {
    // Without PROCESS the process list silently shows only the account's own sessions, so the
    // counts would be wrong rather than missing; INNODB_TRX is where the lack shows.
    if (isDenied(e)) throw new PanelProblem(`${server.account} lacks the PROCESS privilege, so it sees only its own sessions.`, `GRANT PROCESS ON *.* TO ${server.account};`);
    throw e;
  }

  const programs = new Map<number, string>();
  let programNotice: string | undefined;
  let programHint: string | undefined;
  if (setup instanceof PanelProblem) {
    programNotice = `Sessions are counted per application as "unknown": ${setup.message}`;
    programHint = setup.hint;
  } else {
    try {
      const attrs = await session.query("SELECT PROCESSLIST_ID AS id, ATTR_VALUE AS program FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name'");
      for (const a of attrs) programs.set(num(a.id), String(a.program));
    } catch (e) {
      if (!isDenied(e)) throw e;
      programNotice = `Sessions are counted per application as "unknown": ${server.account} may not read performance_schema.session_connect_attrs.`;
      programHint = perfSchemaGrantHint(server);
    }
  }

  const trx = new Map<number, OpenTransaction>();
  for (const t of trxRows) {
    trx.set(num(t.id), {
      state: String(t.state ?? ''),
      ageMs: Math.max(0, num(t.age_us) / 1000),
      waitMs: t.wait_us === null || t.wait_us === undefined ? null : Math.max(0, num(t.wait_us) / 1000),
      query: strOrNull(t.query),
    });
  }

  const first = rows[0] ?? {};
  const self = num(first.self);
  ownIds.add(self);
  const present = new Set<number>();
  const sessions = new Map<number, ServerSession>();
  for (const r of rows) {
    const id = num(r.id);
    present.add(id);
    // performance_schema has no user for a connection still authenticating; information_schema
    // calls it this.
    const user = r.user === null || r.user === undefined || r.user === '' ? 'unauthenticated user' : String(r.user);
    const command = String(r.command ?? '');
    const state = String(r.state ?? '');
    sessions.set(id, {
      id,
      user,
      host: String(r.host ?? ''),
      command,
      timeMs: numOrNull(r.time_ms) ?? 0,
      state,
      info: strOrNull(r.info),
      program: programs.get(id) ?? null,
      trx: trx.get(id) ?? null,
      kind: ownIds.has(id) ? 'monitor' : kindOf(user, command, state, String(r.type ?? '')),
    });
  }
  for (const id of ownIds) if (!present.has(id)) ownIds.delete(id);

  return {
    sessions,
    clients: [...sessions.values()].filter((s) => s.kind === 'client'),
    maxConnections: num(first.max_conn),
    ...(programNotice ? { programNotice } : {}),
    ...(programHint ? { programHint } : {}),
  };
}

export function application(s: ServerSession | undefined): string {
  return s?.program ?? 'unknown';
}

function countBy(items: readonly ServerSession[], key: (s: ServerSession) => string): { name: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const s of items) counts.set(key(s), (counts.get(key(s)) ?? 0) + 1);
  return [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

export function poolPanel(snap: SessionSnapshot): PoolPanel {
  const c = snap.clients;
  return {
    total: c.length,
    active: c.filter((s) => s.command !== 'Sleep').length,
    idle: c.filter((s) => s.command === 'Sleep' && s.trx === null).length,
    idleInTransaction: c.filter(idleInTransaction).length,
    waiting: c.filter(isWaiting).length,
    max: snap.maxConnections,
    // MySQL and MariaDB admit one connection beyond max_connections for an account with
    // CONNECTION_ADMIN / SUPER (MariaDB: CONNECTION ADMIN), so an administrator can still get in
    // when applications have taken every slot. Unlike PostgreSQL's reserved slots it lies on top of
    // max_connections rather than inside it.
    reserved: 1,
    byApplication: countBy(c, application),
    byUser: countBy(c, (s) => s.user),
  };
}

type SessionRow = ActivityPanel['longRunning'][number];

/** The session's own description of what it is doing, in the words pg users know. */
export function sessionState(s: ServerSession): string {
  if (s.command === 'Sleep') return s.trx ? 'idle in transaction' : 'idle';
  if (waitsForRowLock(s)) return 'waiting for a row lock';
  return s.state || s.command.toLowerCase();
}

/** The query a row shows: the running statement, else the last one the session ran when known. */
export function sessionQuery(s: ServerSession, lastStatements: ReadonlyMap<number, string>): string {
  return s.info ?? s.trx?.query ?? lastStatements.get(s.id) ?? '';
}

function row(s: ServerSession, durationMs: number, lastStatements: ReadonlyMap<number, string>): SessionRow {
  return { pid: s.id, user: s.user, application: application(s), state: sessionState(s), durationMs, query: sessionQuery(s, lastStatements) };
}

function longestFirst(rows: SessionRow[]): SessionRow[] {
  return rows.sort((a, b) => b.durationMs - a.durationMs).slice(0, listMax);
}

/** Sessions idle inside a transaction: the activity lists show the last statement they ran. */
export function idleTransactionIds(snap: SessionSnapshot): number[] {
  return snap.clients.filter(idleInTransaction).map((s) => s.id);
}

/**
 * The last statement each of `ids` ran, from performance_schema.events_statements_current, which
 * keeps it after the statement ends. That is the only place an idle session's query survives (the
 * process list shows none), and an idle transaction holding locks is the usual blocker. Empty when
 * the events_statements_current consumer is off, as it is by default on MariaDB.
 */
export async function readLastStatements(session: Queryable, setup: PerfSchemaSetup | PanelProblem, ids: readonly number[]): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  if (setup instanceof PanelProblem || ids.length === 0) return found;
  const on = (name: string) => setup.consumers.get(name) === true;
  if (!on('events_statements_current') || !on('thread_instrumentation') || !on('global_instrumentation')) return found;
  const rows = await session.query(
    `SELECT t.PROCESSLIST_ID AS id, LEFT(e.SQL_TEXT, ${queryTextMax}) AS q FROM performance_schema.events_statements_current e ` +
      `JOIN performance_schema.threads t ON t.THREAD_ID = e.THREAD_ID WHERE t.PROCESSLIST_ID IN (${ids.map(() => '?').join(',')}) ` +
      // Statements inside stored programs nest under the CALL; the top-level one is what the client sent.
      "AND (e.NESTING_EVENT_TYPE IS NULL OR e.NESTING_EVENT_TYPE = 'TRANSACTION')",
    [...ids],
  );
  for (const r of rows) if (r.q !== null && r.q !== undefined) found.set(num(r.id), String(r.q));
  return found;
}

export function activityLists(snap: SessionSnapshot, thresholdMs: number, lastStatements: ReadonlyMap<number, string>): Pick<ActivityPanel, 'longRunning' | 'longTransactions' | 'idleInTransaction'> {
  const c = snap.clients;
  return {
    // 'Execute' is a prepared statement running, as much a query as 'Query'.
    longRunning: longestFirst(c.filter((s) => (s.command === 'Query' || s.command === 'Execute') && s.timeMs > thresholdMs).map((s) => row(s, s.timeMs, lastStatements))),
    longTransactions: longestFirst(c.filter((s) => s.trx !== null && s.trx.ageMs > thresholdMs).map((s) => row(s, s.trx!.ageMs, lastStatements))),
    idleInTransaction: longestFirst(c.filter(idleInTransaction).map((s) => row(s, s.timeMs, lastStatements))),
  };
}

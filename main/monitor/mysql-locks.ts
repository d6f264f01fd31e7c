// The locks panel for MySQL/MariaDB: InnoDB row-lock waits (MariaDB: information_schema
// INNODB_LOCK_WAITS + INNODB_LOCKS; MySQL 8: performance_schema data_lock_waits + data_locks),
// metadata-lock waits (performance_schema.metadata_locks), and any other wait the process list
// names. What cannot be seen (an instrument off, a missing grant) is said in the panel's errors
// with the statement that fixes it, and the waiters are still listed, without their blockers.
import type { LocksPanel } from '../../shared/monitor';
import { mdlConflicts } from './mysql-mdl';
import { isDenied, PanelProblem, sessionFailure, toPanelError, type PanelError } from './mysql-panel-errors';
import { mdlInstrument, perfSchemaGrantHint, versionAtLeast, type MysqlServer, type PerfSchemaSetup, type Queryable } from './mysql-server';
import { application, listMax, lockWaitState, sessionQuery, sessionState, waitsForRowLock, type SessionSnapshot } from './mysql-sessions';

export interface FoundWait {
  pid: number;
  blockedBy: number[];
  mode: string;
  relation: string;
  /** 'record' or 'table' (InnoDB), 'metadata', 'user' (GET_LOCK), or the server's name for it. */
  lockType: string;
  waitMs: number;
}

export interface LockWaitsReading {
  /** The longest waits, at most listMax of them. */
  waits: FoundWait[];
  /** Every waiting session, also those the list leaves out. */
  waiting: number;
  notes: PanelError[];
}

const num = (v: unknown): number => Number(v ?? 0);

/** `db`.`table` (InnoDB's spelling) as db.table. */
function plainName(quoted: string): string {
  const m = /^`((?:[^`]|``)*)`\.`((?:[^`]|``)*)`/.exec(quoted);
  return m ? `${m[1]!.replace(/``/g, '`')}.${m[2]!.replace(/``/g, '`')}` : quoted.replace(/`/g, '');
}

/** Whether this server has InnoDB's lock tables in performance_schema (MySQL 8) or in
 * information_schema (MariaDB, and MySQL before 8.0). */
function rowLocksInPerfSchema(server: MysqlServer): boolean {
  return !server.mariadb && versionAtLeast(server, [8, 0, 1]);
}

interface RowWait {
  waiting: number;
  blocking: number;
  mode: string;
  relation: string;
  lockType: string;
}

async function readRowLockWaits(session: Queryable, server: MysqlServer): Promise<RowWait[]> {
  const rows = rowLocksInPerfSchema(server)
    ? await session.query(
        'SELECT rt.PROCESSLIST_ID AS waiting, bt.PROCESSLIST_ID AS blocking, l.LOCK_TYPE AS type, l.LOCK_MODE AS mode, ' +
          "CONCAT_WS('.', l.OBJECT_SCHEMA, l.OBJECT_NAME) AS tbl FROM performance_schema.data_lock_waits w " +
          'JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID ' +
          'JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID ' +
          'LEFT JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID AND l.ENGINE = w.ENGINE',
      )
    : await session.query(
        'SELECT r.trx_mysql_thread_id AS waiting, b.trx_mysql_thread_id AS blocking, l.lock_type AS type, l.lock_mode AS mode, l.lock_table AS tbl ' +
          'FROM information_schema.INNODB_LOCK_WAITS w ' +
          'JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id ' +
          'JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id ' +
          'LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id',
      );
  return rows.map((r) => {
    const mode = String(r.mode ?? 'unknown');
    return {
      waiting: num(r.waiting),
      blocking: num(r.blocking),
      // A record lock is the common case and InnoDB's mode says it all (X, S, X,GAP, X,REC_NOT_GAP);
      // a table-level InnoDB lock (LOCK TABLES with innodb_table_locks) is marked as such.
      mode: String(r.type ?? '').toUpperCase() === 'TABLE' ? `TABLE ${mode}` : mode,
      relation: r.tbl ? plainName(String(r.tbl)) : 'unknown table',
      lockType: String(r.type ?? 'record').toLowerCase(),
    };
  });
}

interface MdlRow {
  pid: number;
  objectType: string;
  schema: string | null;
  name: string | null;
  lockType: string;
  pending: boolean;
}

function objectKey(r: MdlRow): string {
  return `${r.objectType}\u0000${r.schema ?? ''}\u0000${r.name ?? ''}`;
}

function mdlRelation(r: MdlRow): string {
  if (r.objectType === 'TABLE') return `${r.schema ?? ''}.${r.name ?? ''}`;
  if (r.objectType === 'SCHEMA') return `schema ${r.schema ?? ''}`;
  if (r.objectType === 'USER LEVEL LOCK') return `user lock ${r.name ?? ''}`;
  const named = [r.schema, r.name].filter((x) => x !== null && x !== '').join('.');
  return named ? `${r.objectType.toLowerCase()} ${named}` : r.objectType.toLowerCase();
}

const mdlSelect =
  'SELECT t.PROCESSLIST_ID AS pid, m.OBJECT_TYPE AS otype, m.OBJECT_SCHEMA AS oschema, m.OBJECT_NAME AS oname, m.LOCK_TYPE AS ltype, m.LOCK_STATUS AS lstatus ' +
  'FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID WHERE ';

function toMdlRows(rows: Record<string, unknown>[]): MdlRow[] {
  return rows.map((r) => ({
    pid: num(r.pid),
    objectType: String(r.otype ?? ''),
    schema: r.oschema === null || r.oschema === undefined ? null : String(r.oschema),
    name: r.oname === null || r.oname === undefined ? null : String(r.oname),
    lockType: String(r.ltype ?? ''),
    pending: String(r.lstatus ?? '') === 'PENDING',
  }));
}

/**
 * Pending metadata locks and every lock on the same objects. Two narrow reads rather than one
 * self-join: a busy server holds thousands of metadata locks (one per table per open transaction),
 * while only a few objects have waiters.
 */
async function readMetadataWaits(session: Queryable): Promise<{ pending: MdlRow[]; onObjects: MdlRow[] }> {
  const pending = toMdlRows(await session.query(`${mdlSelect}m.LOCK_STATUS = 'PENDING'`));
  if (pending.length === 0) return { pending, onObjects: [] };
  const objects = new Map(pending.map((p) => [objectKey(p), p]));
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const p of objects.values()) {
    clauses.push('(m.OBJECT_TYPE = ? AND m.OBJECT_SCHEMA <=> ? AND m.OBJECT_NAME <=> ?)');
    params.push(p.objectType, p.schema, p.name);
  }
  const onObjects = toMdlRows(await session.query(`${mdlSelect}(${clauses.join(' OR ')})`, params));
  return { pending, onObjects };
}

function mdlHint(): string {
  return (
    `Enable it now with UPDATE performance_schema.setup_instruments SET ENABLED='YES', TIMED='YES' WHERE NAME='${mdlInstrument}'; ` +
    `(locks taken before that are not seen), and keep it across restarts with performance_schema_instrument='${mdlInstrument}=ON' in my.cnf.`
  );
}

/**
 * Finds every waiting client session and whom it waits for. Throws only for a lost session; what
 * cannot be read becomes a note and the waiters it concerns are listed without blockers.
 */
export async function readLockWaits(session: Queryable, server: MysqlServer, snap: SessionSnapshot, setup: PerfSchemaSetup | PanelProblem): Promise<LockWaitsReading> {
  const notes: PanelError[] = [];
  const waits = new Map<number, FoundWait>();
  const clients = new Map(snap.clients.map((s) => [s.id, s]));

  const rowWaiters = snap.clients.filter(waitsForRowLock);
  if (rowWaiters.length > 0) {
    let rows: RowWait[] | undefined;
    try {
      if (rowLocksInPerfSchema(server) && setup instanceof PanelProblem) throw setup;
      rows = await readRowLockWaits(session, server);
    } catch (e) {
      const lost = sessionFailure(e);
      if (lost) throw lost;
      const problem = e instanceof PanelProblem ? e : isDenied(e) ? new PanelProblem(`${server.account} may not read performance_schema.data_lock_waits.`, perfSchemaGrantHint(server)) : e;
      const note = toPanelError('locks', problem);
      notes.push({ ...note, message: `Row-lock waits are shown without their blockers: ${note.message}` });
    }
    for (const r of rows ?? []) {
      const waiter = clients.get(r.waiting);
      if (!waiter || !waitsForRowLock(waiter)) continue;
      let w = waits.get(r.waiting);
      if (!w) {
        // The process list times the statement; the transaction's wait start has whole seconds.
        const waitMs = waiter.trx?.waitMs === null || waiter.trx?.waitMs === undefined ? waiter.timeMs : Math.min(waiter.timeMs, waiter.trx.waitMs);
        w = { pid: r.waiting, blockedBy: [], mode: r.mode, relation: r.relation, lockType: r.lockType, waitMs };
        waits.set(r.waiting, w);
      }
      // Background threads have no process-list id to show or kill.
      if (r.blocking !== 0 && !w.blockedBy.includes(r.blocking)) w.blockedBy.push(r.blocking);
    }
    if (!rows) {
      for (const s of rowWaiters) waits.set(s.id, { pid: s.id, blockedBy: [], mode: 'unknown', relation: 'unknown table', lockType: 'record', waitMs: s.trx?.waitMs ?? s.timeMs });
    }
  }

  // Metadata locks: the notes say when blockers cannot be found, whether or not anyone waits now,
  // so the DBA can fix it before the migration window rather than during it.
  let mdlReadable = false;
  if (setup instanceof PanelProblem) {
    notes.push({ panel: 'locks', message: `Metadata-lock waits are shown without their blockers: ${setup.message}`, ...(setup.hint ? { hint: setup.hint } : {}) });
  } else if (!setup.mdlInstrument) {
    notes.push({ panel: 'locks', message: `Metadata-lock waits are shown without their blockers: the ${mdlInstrument} instrument is off.`, hint: mdlHint() });
  } else {
    mdlReadable = true;
  }
  const namedWaiters = snap.clients.filter((s) => lockWaitState(s.state) && !waits.has(s.id));
  if (mdlReadable && namedWaiters.length > 0) {
    let mdl: { pending: MdlRow[]; onObjects: MdlRow[] } | undefined;
    try {
      mdl = await readMetadataWaits(session);
    } catch (e) {
      const lost = sessionFailure(e);
      if (lost) throw lost;
      const note = toPanelError('locks', isDenied(e) ? new PanelProblem(`${server.account} may not read performance_schema.metadata_locks.`, perfSchemaGrantHint(server)) : e);
      notes.push({ ...note, message: `Metadata-lock waits are shown without their blockers: ${note.message}` });
    }
    const byObject = new Map<string, MdlRow[]>();
    for (const r of mdl?.onObjects ?? []) byObject.set(objectKey(r), [...(byObject.get(objectKey(r)) ?? []), r]);
    for (const p of mdl?.pending ?? []) {
      const waiter = clients.get(p.pid);
      if (!waiter || waits.has(p.pid)) continue;
      const blockedBy: number[] = [];
      for (const other of byObject.get(objectKey(p)) ?? []) {
        // Background threads have no process-list id to show or kill.
        if (other.pid === p.pid || other.pid === 0 || blockedBy.includes(other.pid)) continue;
        if (mdlConflicts(p.objectType, p.lockType, other.lockType, !other.pending)) blockedBy.push(other.pid);
      }
      waits.set(p.pid, { pid: p.pid, blockedBy, mode: `MDL ${p.lockType}`, relation: mdlRelation(p), lockType: p.objectType === 'USER LEVEL LOCK' ? 'user' : 'metadata', waitMs: waiter.timeMs });
    }
  }
  // Whatever else the process list calls a lock wait (a lock taken before the instrument was
  // switched on, LOCK TABLES on a non-InnoDB table, a user lock without the instrument): listed,
  // with the lock named from the server's own state text.
  for (const s of snap.clients) {
    if (waits.has(s.id) || !lockWaitState(s.state)) continue;
    const named = s.state.replace(/^Waiting for /i, '');
    const lockType = /metadata/i.test(named) ? 'metadata' : /^User lock$/i.test(named) ? 'user' : named;
    waits.set(s.id, { pid: s.id, blockedBy: [], mode: 'unknown', relation: named, lockType, waitMs: s.timeMs });
  }

  return { waits: [...waits.values()].sort((a, b) => b.waitMs - a.waitMs).slice(0, listMax), waiting: waits.size, notes };
}

export function locksPanel(reading: LockWaitsReading, snap: SessionSnapshot, lastStatements: ReadonlyMap<number, string>): LocksPanel {
  const waiting = new Set(reading.waits.map((w) => w.pid));
  const blockerIds = [...new Set(reading.waits.flatMap((w) => w.blockedBy))];
  return {
    waiting: reading.waiting,
    waits: reading.waits.map((w) => {
      const s = snap.sessions.get(w.pid);
      return { ...w, user: s?.user ?? '', application: application(s), query: s ? sessionQuery(s, lastStatements) : '' };
    }),
    blockers: blockerIds.map((pid) => {
      const s = snap.sessions.get(pid);
      return {
        pid,
        user: s?.user ?? '',
        application: application(s),
        // A blocker missing from the process list ended between the two readings.
        state: s ? sessionState(s) : 'ended',
        xactMs: s?.trx?.ageMs ?? null,
        query: s ? sessionQuery(s, lastStatements) : '',
        waiting: waiting.has(pid),
      };
    }),
  };
}

/** Blockers idle in their transaction: their last statement is worth looking up. */
export function idleBlockerIds(reading: LockWaitsReading, snap: SessionSnapshot): number[] {
  return [...new Set(reading.waits.flatMap((w) => w.blockedBy))].filter((pid) => snap.sessions.get(pid)?.command === 'Sleep');
}


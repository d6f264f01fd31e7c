// MongoDB's pool, locks and activity panels from one $currentOp reading (every connection, idle
// ones and idle sessions holding a transaction included) and serverStatus.connections.
//
// MongoDB says which operations wait for a lock (waitingForLock) and which locks each operation or
// open transaction holds (`locks`: mode per level), but not who a waiter waits for. The blockers
// are therefore inferred: an operation or idle transaction is listed as a waiter's blocker when it
// holds, at the Global, Database or Collection level the waiter also locks, a mode that conflicts
// with the waiter's (MongoDB's intent locks: r = IS, w = IX, R = S, W = X), on the same database or
// collection. This is written here because no driver or tool exposes it.
import type { ActivityPanel, LocksPanel, PoolPanel } from '../../shared/monitor';

/** What $currentOp gives per operation, connection or idle session (the fields used here). */
export interface CurrentOp {
  type?: string;
  desc?: string;
  opid?: number;
  connectionId?: number;
  client?: string;
  appName?: string;
  active?: boolean;
  op?: string;
  ns?: string;
  command?: Record<string, unknown>;
  secs_running?: number;
  microsecs_running?: number;
  waitingForLock?: boolean;
  locks?: Record<string, string>;
  effectiveUsers?: { user: string; db: string }[];
  lsid?: { id?: { toString(encoding?: string): string } | string };
  transaction?: { timeOpenMicros?: number; timeInactiveMicros?: number; parameters?: { txnNumber?: number } };
}

/** The monitor's own sessions carry this appName and are left out of every count. */
export const ownAppName = 'flightdeck/monitor';
const queryChars = 2000;
const rowLimit = 500;
const topNames = 10;

/** The $currentOp stage the panels read: every user's operations, idle connections and idle
 * sessions (an open transaction between statements is an idle session). */
export const currentOpPipeline = [
  { $currentOp: { allUsers: true, idleConnections: true, idleSessions: true } },
  {
    $project: {
      type: 1, desc: 1, opid: 1, connectionId: 1, client: 1, appName: 1, active: 1, op: 1, ns: 1, command: 1, secs_running: 1,
      microsecs_running: 1, waitingForLock: 1, locks: 1, effectiveUsers: 1, lsid: 1, transaction: 1,
    },
  },
];

const isOwn = (o: CurrentOp) => o.appName === ownAppName;
/** A client connection (not an internal thread such as the replication applier). */
const isConnection = (o: CurrentOp) => o.type !== 'idleSession' && o.type !== 'idleCursor' && (o.connectionId !== undefined || o.client !== undefined);
const isIdleTransaction = (o: CurrentOp) => o.type === 'idleSession' && o.transaction !== undefined;
const user = (o: CurrentOp) => o.effectiveUsers?.[0]?.user ?? '';

/** The logical session id as 32 hex digits, or undefined. */
export function sessionIdOf(o: CurrentOp): string | undefined {
  const id = o.lsid?.id;
  if (id === undefined) return undefined;
  const hex = typeof id === 'string' ? id.replace(/-/g, '') : id.toString('hex');
  return /^[0-9a-f]{32}$/i.test(hex) ? hex.toLowerCase() : undefined;
}

/** The panels key sessions by an integer. Operations have their opid; an idle transaction has
 * none, so it gets a stable negative stand-in derived from its session id. */
export function idOf(o: CurrentOp): number {
  if (typeof o.opid === 'number' && o.type !== 'idleSession') return o.opid;
  const sid = sessionIdOf(o);
  if (sid) return -(parseInt(sid.slice(0, 8), 16) % 2_000_000_000) - 1;
  return -(o.connectionId ?? 0) - 1;
}

/** The operation as one line: its command document, cut. */
export function describeOp(o: CurrentOp): string {
  if (o.type === 'idleSession') return o.transaction ? `(idle in transaction${o.transaction.parameters?.txnNumber !== undefined ? ` ${o.transaction.parameters.txnNumber}` : ''})` : '(idle session)';
  if (!o.command || Object.keys(o.command).length === 0) return o.active ? `${o.op ?? 'op'}${o.ns ? ` ${o.ns}` : ''}` : '';
  let text: string;
  try {
    text = JSON.stringify(o.command);
  } catch {
    text = String(o.op ?? 'command');
  }
  return text.length > queryChars ? `${text.slice(0, queryChars)}…` : text;
}

const runningMs = (o: CurrentOp) => (o.microsecs_running !== undefined ? o.microsecs_running / 1000 : (o.secs_running ?? 0) * 1000);
const transactionMs = (o: CurrentOp) => (o.transaction?.timeOpenMicros !== undefined ? o.transaction.timeOpenMicros / 1000 : null);

function countBy(items: CurrentOp[], key: (o: CurrentOp) => string): { name: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const o of items) counts.set(key(o), (counts.get(key(o)) ?? 0) + 1);
  const sorted = [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));
  if (sorted.length <= topNames) return sorted;
  const rest = sorted.slice(topNames).reduce((n, x) => n + x.count, 0);
  return [...sorted.slice(0, topNames), { name: '(other)', count: rest }];
}

/** serverStatus.connections: current (ours included) and available. */
export interface ConnectionCounts {
  current: number;
  available: number;
}

export function poolPanel(ops: CurrentOp[], conns: ConnectionCounts): PoolPanel {
  const clients = ops.filter((o) => isConnection(o) && !isOwn(o));
  const active = clients.filter((o) => o.active === true).length;
  return {
    total: clients.length,
    active,
    idle: clients.length - active,
    // Sessions between the statements of an open transaction (they hold no connection meanwhile).
    idleInTransaction: ops.filter(isIdleTransaction).length,
    waiting: clients.filter((o) => o.waitingForLock === true).length,
    max: conns.current + conns.available,
    reserved: 0,
    byApplication: countBy(clients, (o) => o.appName ?? ''),
    byUser: countBy(clients, user),
  };
}

// ---- locks ---------------------------------------------------------------------------------------

const levels = ['Global', 'Database', 'Collection'] as const;
type Level = (typeof levels)[number];

/** MongoDB's lock modes and what they conflict with (IS/IX/S/X). */
const conflictsWith: Record<string, ReadonlySet<string>> = {
  r: new Set(['W']),
  w: new Set(['R', 'W']),
  R: new Set(['w', 'W']),
  W: new Set(['r', 'w', 'R', 'W']),
};
const modeNames: Record<string, string> = { r: 'IS (r)', w: 'IX (w)', R: 'S (R)', W: 'X (W)' };

const dbOf = (ns: string | undefined) => (ns ? ns.split('.')[0]! : undefined);

/** Whether holder h's locks conflict with waiter w's at a level both lock, on the same object.
 * An idle transaction does not report its namespace, so it is matched on the modes alone. A holder
 * that is itself waiting holds only the levels above the one it waits for. */
function conflicts(w: CurrentOp, h: CurrentOp): boolean {
  const hWaitsAt = h.waitingForLock ? wanted(h).level : undefined;
  for (const level of levels) {
    if (level === hWaitsAt) break;
    const wm = w.locks?.[level];
    const hm = h.locks?.[level];
    if (!wm || !hm || !conflictsWith[wm]?.has(hm)) continue;
    if (level === 'Global') return true;
    if (!h.ns || !w.ns) return true;
    if (level === 'Database' && dbOf(w.ns) === dbOf(h.ns)) return true;
    if (level === 'Collection' && w.ns === h.ns) return true;
  }
  return false;
}

/** The level and mode a waiter asks for: the narrowest level it locks. */
function wanted(w: CurrentOp): { level: Level | undefined; mode: string } {
  for (const level of [...levels].reverse()) {
    const m = w.locks?.[level];
    if (m) return { level, mode: modeNames[m] ?? m };
  }
  return { level: undefined, mode: '?' };
}

export function locksPanel(ops: CurrentOp[]): LocksPanel {
  const waiters = ops.filter((o) => o.waitingForLock === true && !isOwn(o));
  const candidates = ops.filter((o) => !isOwn(o) && (o.active === true || isIdleTransaction(o)) && o.locks && Object.keys(o.locks).length > 0);
  const blockerIds = new Set<number>();
  const waits = waiters.slice(0, rowLimit).map((w) => {
    const blockedBy = candidates.filter((h) => h !== w && conflicts(w, h)).map(idOf);
    for (const id of blockedBy) blockerIds.add(id);
    const { level, mode } = wanted(w);
    return {
      pid: idOf(w),
      blockedBy,
      mode,
      relation: w.ns ?? level ?? '(unknown)',
      ...(level ? { lockType: level.toLowerCase() } : {}),
      waitMs: runningMs(w),
      user: user(w),
      application: w.appName ?? '',
      query: describeOp(w),
    };
  });
  const blockers = candidates
    .filter((h) => blockerIds.has(idOf(h)))
    .map((h) => {
      const sessionId = h.type === 'idleSession' ? sessionIdOf(h) : undefined;
      return {
        pid: idOf(h),
        user: user(h),
        application: h.appName ?? '',
        state: h.type === 'idleSession' ? 'idle in transaction' : h.waitingForLock ? 'waiting for a lock' : 'active',
        xactMs: transactionMs(h),
        query: describeOp(h),
        waiting: h.waitingForLock === true,
        ...(sessionId ? { sessionId } : {}),
      };
    });
  return { waiting: waiters.length, waits, blockers };
}

// ---- activity ------------------------------------------------------------------------------------

function row(o: CurrentOp, durationMs: number): ActivityPanel['longRunning'][number] {
  const sessionId = o.type === 'idleSession' ? sessionIdOf(o) : undefined;
  return {
    pid: idOf(o),
    user: user(o),
    application: o.appName ?? '',
    state: o.type === 'idleSession' ? 'idle in transaction' : o.active ? (o.waitingForLock ? 'waiting for a lock' : 'active') : 'idle',
    durationMs,
    query: describeOp(o),
    ...(sessionId ? { sessionId } : {}),
  };
}

/** The session lists of the activity panel (the rates come from serverStatus, see mongo-sampler). */
export function activityLists(ops: CurrentOp[], thresholdMs: number): Pick<ActivityPanel, 'longRunning' | 'longTransactions' | 'idleInTransaction'> {
  const mine = ops.filter((o) => !isOwn(o));
  const longest = (rows: ActivityPanel['longRunning']) => rows.sort((a, b) => b.durationMs - a.durationMs).slice(0, rowLimit);
  return {
    longRunning: longest(mine.filter((o) => o.active === true && o.type !== 'idleSession' && isConnection(o) && runningMs(o) >= thresholdMs).map((o) => row(o, runningMs(o)))),
    longTransactions: longest(
      mine.filter((o) => (transactionMs(o) ?? -1) >= thresholdMs).map((o) => row(o, transactionMs(o)!)),
    ),
    idleInTransaction: longest(mine.filter(isIdleTransaction).map((o) => row(o, transactionMs(o) ?? 0))),
  };
}

// The live health panels' data: one sample per target per interval (1 Hz by default), as the
// samplers in main/monitor/ read it from the server. Counters are already turned into per-second
// rates by the sampler (it keeps the previous reading); nothing here resets server statistics.
import { z } from 'zod';
import { engines } from './profile';

export const panelNames = ['pool', 'locks', 'replication', 'activity', 'statements'] as const;
export type PanelName = (typeof panelNames)[number];

/** A panel that could not be read this time says why, and the rest of the sample still counts. */
export const panelErrorSchema = z.object({ panel: z.enum(panelNames), message: z.string(), hint: z.string().optional() });

const countByName = z.array(z.object({ name: z.string(), count: z.number().int() }));

export const poolPanelSchema = z.object({
  /** All client sessions (background workers and Flightdeck's own monitor session excluded). */
  total: z.number().int(),
  active: z.number().int(),
  idle: z.number().int(),
  idleInTransaction: z.number().int(),
  /** Sessions waiting on a lock. */
  waiting: z.number().int(),
  /** The server's limit (max_connections). */
  max: z.number().int(),
  /** Connections reserved for superusers, which applications cannot use. */
  reserved: z.number().int(),
  byApplication: countByName,
  byUser: countByName,
});
export type PoolPanel = z.infer<typeof poolPanelSchema>;

export const lockWaitSchema = z.object({
  /** The waiting session. */
  pid: z.number().int(),
  /** Sessions it waits for (pg_blocking_pids / data_lock_waits / metadata_locks). */
  blockedBy: z.array(z.number().int()),
  mode: z.string(),
  /** schema.table (or the lock type when no relation is involved). */
  relation: z.string(),
  /** What kind of lock is awaited (relation, transactionid, tuple, advisory, …): a ShareLock on a
   * transactionid is a row wait, not a table lock, even when `relation` names the row's table. */
  lockType: z.string().optional(),
  waitMs: z.number(),
  user: z.string(),
  application: z.string(),
  query: z.string(),
});
export const blockerSchema = z.object({
  pid: z.number().int(),
  user: z.string(),
  application: z.string(),
  state: z.string(),
  /** How long its current transaction has run. */
  xactMs: z.number().nullable(),
  query: z.string(),
  /** The blocker is itself waiting (part of a longer chain). */
  waiting: z.boolean(),
  /** MongoDB: the logical session of an idle transaction, which has no operation id; `pid` is
   * then a negative stand-in, and cancel/terminate act on the session. */
  sessionId: z.string().optional(),
});
export const locksPanelSchema = z.object({
  waiting: z.number().int(),
  /** One entry per waiting session; the tree is waits -> blockedBy -> blockers. */
  waits: z.array(lockWaitSchema),
  /** Every session some wait names as its blocker. */
  blockers: z.array(blockerSchema),
});
export type LocksPanel = z.infer<typeof locksPanelSchema>;

export const replicaSchema = z.object({
  name: z.string(),
  address: z.string(),
  state: z.string(),
  /** WAL (or binlog) bytes the replica has not replayed yet; null when the engine cannot say. */
  lagBytes: z.number().nullable(),
  /** Replay delay in seconds; null when unknown. */
  lagSeconds: z.number().nullable(),
  syncState: z.string().optional(),
});
/** MongoDB's oplog: how far back it reaches. A replica that falls further behind than the window
 * cannot catch up and must be resynced, so a long migration must stay well inside it. */
export const oplogSchema = z.object({
  /** Seconds between the oldest and the newest entry. */
  windowSeconds: z.number(),
  usedBytes: z.number(),
  maxBytes: z.number(),
});
export const slotSchema = z.object({ name: z.string(), active: z.boolean(), retainedBytes: z.number().nullable() });
export const replicationPanelSchema = z.object({
  role: z.enum(['primary', 'replica', 'standalone']),
  /** On a primary: its replicas. */
  replicas: z.array(replicaSchema),
  slots: z.array(slotSchema),
  /** MongoDB replica-set members: the oplog of the member sampled. */
  oplog: oplogSchema.optional(),
  /** On a replica: how far behind it is. */
  self: z
    .object({
      lagSeconds: z.number().nullable(),
      lagBytes: z.number().nullable(),
      replayPaused: z.boolean(),
      state: z.string(),
    })
    .optional(),
});
export type ReplicationPanel = z.infer<typeof replicationPanelSchema>;

export const sessionRowSchema = z.object({
  pid: z.number().int(),
  user: z.string(),
  application: z.string(),
  state: z.string(),
  durationMs: z.number(),
  query: z.string(),
  /** MongoDB: the logical session (see blockerSchema.sessionId). */
  sessionId: z.string().optional(),
});
export const activityPanelSchema = z.object({
  /** Queries running longer than the threshold. */
  longRunning: z.array(sessionRowSchema),
  /** Transactions open longer than the threshold. */
  longTransactions: z.array(sessionRowSchema),
  idleInTransaction: z.array(sessionRowSchema),
  thresholdMs: z.number(),
  commitsPerSec: z.number().nullable(),
  rollbacksPerSec: z.number().nullable(),
  deadlocksPerSec: z.number().nullable(),
  tempFilesPerSec: z.number().nullable(),
  /** MongoDB: operations per second by kind (serverStatus opcounters). */
  operationsPerSec: z.object({ insert: z.number(), query: z.number(), update: z.number(), delete: z.number(), getmore: z.number(), command: z.number() }).optional(),
});
export type ActivityPanel = z.infer<typeof activityPanelSchema>;

export const statementRowSchema = z.object({
  /** queryid (PostgreSQL) or digest (MySQL). */
  id: z.string(),
  query: z.string(),
  callsPerSec: z.number(),
  /** Server time spent in this statement per second of wall time. */
  totalMsPerSec: z.number(),
  /** Mean time of the calls made during this interval. */
  meanMs: z.number().nullable(),
  /** null where the engine does not count rows per statement (MongoDB's top). */
  rowsPerSec: z.number().nullable(),
  /** The saved baseline's mean, when one exists. */
  baselineMeanMs: z.number().nullable(),
});
export const statementsPanelSchema = z.object({
  available: z.boolean(),
  /** How to enable statement statistics when they are not available. */
  hint: z.string().optional(),
  /** What a row stands for when it is not one statement (MongoDB: a collection and operation kind). */
  note: z.string().optional(),
  /** Top statements by time spent during the interval. */
  top: z.array(statementRowSchema),
  /** Distinct statements the server tracks. */
  tracked: z.number().int(),
  /** Epoch ms when the statistics behind `top` were read. A large statistics view costs the server
   * milliseconds to read, so it may be read less often than once per sample; then a sample repeats
   * the last reading and this stays older than the sample's time. */
  readAt: z.number().optional(),
  /** The wall time the rates in `top` cover (between the two readings they come from); null on the
   * first reading. rate × intervalMs / 1000 gives back the interval's count. */
  intervalMs: z.number().nullable().optional(),
});
export type StatementsPanel = z.infer<typeof statementsPanelSchema>;

/** The SSH server's own figures, read over the tunnel's SSH connection from /proc and df (only for
 * profiles that go through SSH). Read beside the database sample, never inside its time: a sample
 * carries the last host reading there is, so `readAt` may be older than the sample's time. */
export const hostPanelSchema = z.object({
  /** The SSH server the figures describe (behind a jump host, the last hop). */
  host: z.string(),
  /** Epoch ms of the reading the figures come from; null until the first good reading. */
  readAt: z.number().nullable(),
  /** The last read failed, or the host cannot be read at all: why. The figures are then the last
   * good reading's (or null), shown greyed, and not charted. */
  error: z.object({ message: z.string(), hint: z.string().optional() }).optional(),
  /** Logical CPUs (cpuN lines of /proc/stat). */
  cpus: z.number().int().nullable(),
  /** Shares of CPU time between the last two readings, in %; null on the first reading. */
  cpu: z
    .object({ usedPct: z.number(), userPct: z.number(), systemPct: z.number(), iowaitPct: z.number(), stealPct: z.number() })
    .nullable(),
  load1: z.number().nullable(),
  load5: z.number().nullable(),
  load15: z.number().nullable(),
  /** usedPct is of MemTotal less MemAvailable: what the kernel cannot hand out without swapping. */
  mem: z.object({ totalBytes: z.number(), availableBytes: z.number(), usedPct: z.number() }).nullable(),
  swap: z.object({ totalBytes: z.number(), usedBytes: z.number() }).nullable(),
  /** The file system holding the database's data directory (df -Pk): free is what a non-root
   * process can still write, and usedPct is df's Capacity (used of used + available). */
  disk: z
    .object({
      /** The path measured: the data directory, or / when it could not be found out. */
      path: z.string(),
      dataDirectory: z.boolean(),
      /** Why / was measured instead of the data directory. */
      note: z.string().optional(),
      filesystem: z.string(),
      mountedOn: z.string(),
      sizeBytes: z.number(),
      freeBytes: z.number(),
      usedPct: z.number(),
    })
    .nullable(),
});
export type HostPanel = z.infer<typeof hostPanelSchema>;

/** One PgBouncer pool (database/user pair) of the monitored database, from SHOW POOLS. */
export const poolerPoolSchema = z.object({
  database: z.string(),
  user: z.string(),
  /** session, transaction or statement pooling. */
  mode: z.string(),
  /** Clients paired with a server connection, or idle in session mode (cl_active). */
  clientsActive: z.number().int(),
  /** Clients queued for a server connection (cl_waiting): the application is waiting. */
  clientsWaiting: z.number().int(),
  serversActive: z.number().int(),
  serversIdle: z.number().int(),
  serversUsed: z.number().int(),
  /** The pool's pool_size (its [databases] entry, else default_pool_size). */
  poolSize: z.number().int(),
  /** How long the oldest waiting client has waited (maxwait + maxwait_us), seconds. */
  maxWaitSeconds: z.number(),
});
export type PoolerPool = z.infer<typeof poolerPoolSchema>;

/** The PgBouncer in front of the database (the profile's attached admin console), read beside each
 * sample like the host figures: a sample carries the last reading there is. */
export const poolerPanelSchema = z.object({
  /** console user@host:port/pgbouncer, as the panel names it. */
  address: z.string(),
  /** Epoch ms of the reading shown; null until the first good one. */
  readAt: z.number().nullable(),
  /** The last reading failed: why; the pools shown are the last good reading's. */
  error: z.object({ message: z.string(), hint: z.string().optional() }).optional(),
  /** The pools of the monitored database (by its PgBouncer name or the server database it maps to). */
  pools: z.array(poolerPoolSchema),
  /** Pools of other databases on the same pooler (not listed). */
  otherPools: z.number().int(),
  /** The database entry is paused (PAUSE) or disabled (DISABLE) on the pooler. */
  paused: z.boolean(),
  disabled: z.boolean(),
});
export type PoolerPanel = z.infer<typeof poolerPanelSchema>;

/** One of the largest tables. Sizes are bytes; null is what the engine (or this reading) cannot say. */
export const storageTableSchema = z.object({
  schema: z.string(),
  name: z.string(),
  /** The table's own data: the heap (PostgreSQL), DATA_LENGTH (MySQL: the clustered index). */
  tableBytes: z.number(),
  indexBytes: z.number(),
  /** PostgreSQL's TOAST table and its index (0 on MySQL). */
  toastBytes: z.number(),
  totalBytes: z.number(),
  /** Estimated live rows: n_live_tup (PostgreSQL), TABLE_ROWS (MySQL, an InnoDB estimate). */
  liveRows: z.number().nullable(),
  /** n_dead_tup; null on MySQL, whose purge removes old row versions by itself. */
  deadRows: z.number().nullable(),
  /** deadRows / (liveRows + deadRows), 0–1. */
  deadRatio: z.number().nullable(),
  /** Space a rewrite would give back, estimated: statistics-based bloat (PostgreSQL), DATA_FREE (MySQL). */
  bloatBytes: z.number().nullable(),
  /** bloatBytes as a share (0–1) of the table's data (PostgreSQL: heap and TOAST; MySQL: data, indexes and free space). */
  bloatRatio: z.number().nullable(),
  /** Epoch ms of the last manual and automatic VACUUM and ANALYZE (PostgreSQL only). */
  lastVacuum: z.number().nullable(),
  lastAutovacuum: z.number().nullable(),
  lastAnalyze: z.number().nullable(),
  lastAutoanalyze: z.number().nullable(),
});
export type StorageTable = z.infer<typeof storageTableSchema>;

export const unusedIndexSchema = z.object({
  schema: z.string(),
  table: z.string(),
  name: z.string(),
  /** null when the server would not say (MySQL without SELECT on mysql.innodb_index_stats). */
  bytes: z.number().nullable(),
});

/** Table and index sizes, dead tuples, bloat and unused indexes. Read on its own cadence (every
 * `intervalMs`, 60 s by default), beside the live samples and never inside their time: every sample
 * carries the last reading, so `readAt` is usually older than the sample. */
export const storagePanelSchema = z.object({
  /** Epoch ms of the reading shown; null until the first one succeeds. */
  readAt: z.number().nullable(),
  /** How long that reading took. */
  durationMs: z.number().nullable(),
  /** How often storage is read. */
  intervalMs: z.number(),
  /** Where the sizes come from and how current they are (it differs between engines). */
  sizeSource: z.string(),
  /** The largest tables by total size, largest first. */
  tables: z.array(storageTableSchema),
  /** Tables whose sizes were not read this time because a DDL held a lock on them, and why. */
  skipped: z.array(z.object({ schema: z.string(), name: z.string(), reason: z.string() })),
  /** Indexes no scan has used since `indexStatsSince`, excluding unique and primary-key ones, largest first. */
  unusedIndexes: z.array(unusedIndexSchema),
  /** How many unused indexes there are in all (the list may be cut). */
  unusedIndexCount: z.number().int(),
  /** Since when index use is counted (statistics reset, server start); null when unknown. */
  indexStatsSince: z.number().nullable(),
  /** What to keep in mind about the unused-index list (e.g. a replica counts only its own scans). */
  unusedIndexesNote: z.string().optional(),
  /** Unused indexes could not be found, or their sizes read: why, and what would fix it. */
  unusedIndexesHint: z.string().optional(),
  /** The last reading failed or was cut short; what is shown is the reading before it (if any). */
  error: z.object({ message: z.string(), hint: z.string().optional(), at: z.number() }).optional(),
});
export type StoragePanel = z.infer<typeof storagePanelSchema>;

export const sampleSchema = z.object({
  profileId: z.string(),
  engine: z.enum(engines),
  /** Epoch milliseconds when the sample was taken. */
  time: z.number(),
  /** How long sampling took. */
  durationMs: z.number(),
  pool: poolPanelSchema.optional(),
  locks: locksPanelSchema.optional(),
  replication: replicationPanelSchema.optional(),
  activity: activityPanelSchema.optional(),
  statements: statementsPanelSchema.optional(),
  host: hostPanelSchema.optional(),
  pooler: poolerPanelSchema.optional(),
  storage: storagePanelSchema.optional(),
  errors: z.array(panelErrorSchema),
});
export type Sample = z.infer<typeof sampleSchema>;

/** The numbers charted over time, one series each, kept 24 h at 1 Hz in ring buffers. */
export const seriesKeys = [
  'pool.total',
  'pool.active',
  'pool.idle',
  'pool.idleInTransaction',
  'pool.waiting',
  'pool.max',
  'pooler.clientsWaiting',
  'pooler.serversActive',
  'locks.waiting',
  'replication.maxLagBytes',
  'replication.maxLagSeconds',
  'activity.commitsPerSec',
  'activity.rollbacksPerSec',
  'activity.deadlocksPerSec',
  'activity.longRunning',
  'activity.idleInTransaction',
  'sample.durationMs',
  'host.cpuPct',
  'host.load1',
  'host.memUsedPct',
  'host.diskUsedPct',
] as const;
export type SeriesKey = (typeof seriesKeys)[number];

export const monitorStateSchema = z.object({
  profileId: z.string(),
  state: z.enum(['starting', 'live', 'stale', 'stopped']),
  intervalMs: z.number().int(),
  /** Epoch ms of the last good sample. */
  lastGoodAt: z.number().nullable(),
  lastError: z.object({ code: z.string(), message: z.string(), hint: z.string() }).optional(),
});
export type MonitorState = z.infer<typeof monitorStateSchema>;

export const seriesSchema = z.object({
  key: z.enum(seriesKeys),
  /** [epoch ms, value] pairs, downsampled (LTTB) to at most the points asked for. */
  points: z.array(z.tuple([z.number(), z.number()])),
});
export type Series = z.infer<typeof seriesSchema>;

/** The number each series takes from a sample; NaN when the panel was not read. Main's history
 * and the renderer's live charts both use it, so they cannot disagree. */
export function seriesValues(s: Sample): Record<SeriesKey, number> {
  const lags = s.replication ? [...s.replication.replicas, ...(s.replication.self ? [s.replication.self] : [])] : [];
  const maxOf = (xs: (number | null)[]) => {
    const known = xs.filter((x): x is number => x !== null);
    return known.length ? Math.max(...known) : s.replication ? 0 : NaN;
  };
  const num = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);
  const host = s.host && !s.host.error ? s.host : undefined;
  const pooler = s.pooler && !s.pooler.error && s.pooler.readAt !== null ? s.pooler : undefined;
  const poolerSum = (f: (p: PoolerPool) => number) => (pooler ? pooler.pools.reduce((n, p) => n + f(p), 0) : NaN);
  return {
    'pool.total': num(s.pool?.total),
    'pool.active': num(s.pool?.active),
    'pool.idle': num(s.pool?.idle),
    'pool.idleInTransaction': num(s.pool?.idleInTransaction),
    'pool.waiting': num(s.pool?.waiting),
    'pool.max': num(s.pool?.max),
    // A failed pooler reading keeps its last pools for the panel, but they are not new points.
    'pooler.clientsWaiting': poolerSum((p) => p.clientsWaiting),
    'pooler.serversActive': poolerSum((p) => p.serversActive),
    'locks.waiting': num(s.locks?.waiting),
    'replication.maxLagBytes': maxOf(lags.map((l) => l.lagBytes)),
    'replication.maxLagSeconds': maxOf(lags.map((l) => l.lagSeconds)),
    'activity.commitsPerSec': num(s.activity?.commitsPerSec),
    'activity.rollbacksPerSec': num(s.activity?.rollbacksPerSec),
    'activity.deadlocksPerSec': num(s.activity?.deadlocksPerSec),
    'activity.longRunning': num(s.activity?.longRunning.length),
    'activity.idleInTransaction': num(s.activity?.idleInTransaction.length),
    'sample.durationMs': s.durationMs,
    // A host reading that failed keeps its last figures for the panel, but they are not new points.
    'host.cpuPct': host ? num(host.cpu?.usedPct) : NaN,
    'host.load1': host ? num(host.load1) : NaN,
    'host.memUsedPct': host ? num(host.mem?.usedPct) : NaN,
    'host.diskUsedPct': host ? num(host.disk?.usedPct) : NaN,
  };
}

/** Something that happened to a database, drawn as a marker on every chart's time axis. */
export const monitorEventKinds = ['migration-start', 'migration-end', 'migration-failed', 'rollback-start', 'rollback-end', 'rollback-failed', 'force'] as const;
export const monitorEventSchema = z.object({
  id: z.string(),
  profileId: z.string(),
  profileName: z.string(),
  /** Epoch milliseconds. */
  at: z.number(),
  kind: z.enum(monitorEventKinds),
  label: z.string(),
});
export type MonitorEvent = z.infer<typeof monitorEventSchema>;

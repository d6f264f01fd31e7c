// Where each panel turns amber and red. The numbers are WORKFLOW.md's: sign-off wants replication
// lag under 1 s and rolls back beyond 10 s; "connection pool exhaustion" is a rollback trigger, so
// the pool warns at 80 % of the server's limit and is critical at 95 %; a migration's DDL queueing
// other sessions shows first as lock waits, so any wait warns and more than five is critical; a
// statement more than 10 % slower than its baseline fails sign-off, more than 25 % is a rollback.

export type Level = 'ok' | 'warn' | 'critical';

export interface Threshold {
  /** At or above this the value is a warning. */
  warn: number;
  /** At or above this it is critical. */
  critical: number;
}

export function levelOf(value: number | null | undefined, t: Threshold | undefined): Level {
  if (value === null || value === undefined || Number.isNaN(value) || !t) return 'ok';
  if (value >= t.critical) return 'critical';
  if (value >= t.warn) return 'warn';
  return 'ok';
}

export function poolThreshold(max: number): Threshold {
  return { warn: Math.ceil(max * 0.8), critical: Math.ceil(max * 0.95) };
}

/** "> 0 warn, > 5 critical" on a count: 1 and 6. */
export const lockWaitThreshold: Threshold = { warn: 1, critical: 6 };

export const replicationLagSecondsThreshold: Threshold = { warn: 1, critical: 10 };

/** Any deadlock is worth a look; several per second is an application fighting the migration. */
export const deadlocksPerSecThreshold: Threshold = { warn: 0.001, critical: 1 };

/** Sessions holding a transaction open while idle keep locks and block vacuum. */
export const idleInTransactionThreshold: Threshold = { warn: 1, critical: 5 };

export const longRunningThreshold: Threshold = { warn: 1, critical: 5 };

/** Mean time against the saved baseline, as a ratio (1.1 = 10 % slower). */
export const baselineRatioThreshold: Threshold = { warn: 1.1, critical: 1.25 };

/** Storage: dead tuples as a share of a table's rows, and estimated bloat as a share of its size.
 * A fifth wasted warns (autovacuum is falling behind, or something holds back the xmin horizon);
 * half is critical (the table is mostly dead weight: every scan reads twice what it needs). */
export const deadRatioThreshold: Threshold = { warn: 0.2, critical: 0.5 };
export const bloatRatioThreshold: Threshold = { warn: 0.2, critical: 0.5 };

/** Tables smaller than this are not coloured (neither their cells nor the storage panel): on a few
 * pages the ratios are noise (one dead row in five is 20 %) and there is nothing worth acting on. */
export const storageLevelMinBytes = 8 * 1024 * 1024;

/** Host CPU use in %, over the whole machine (all CPUs). */
export const hostCpuThreshold: Threshold = { warn: 80, critical: 95 };

/** Used % of the file system holding the data directory: a full disk stops the database. */
export const hostDiskUsedThreshold: Threshold = { warn: 85, critical: 95 };

/** Memory warns when less than this share of it is available (MemAvailable / MemTotal, in %). */
export const hostMemAvailableWarnPct = 10;

export function memoryLevel(availableBytes: number | null | undefined, totalBytes: number | null | undefined): Level {
  if (availableBytes === null || availableBytes === undefined || !totalBytes) return 'ok';
  return (100 * availableBytes) / totalBytes < hostMemAvailableWarnPct ? 'warn' : 'ok';
}

export function worst(...levels: Level[]): Level {
  if (levels.includes('critical')) return 'critical';
  if (levels.includes('warn')) return 'warn';
  return 'ok';
}

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

export function worst(...levels: Level[]): Level {
  if (levels.includes('critical')) return 'critical';
  if (levels.includes('warn')) return 'warn';
  return 'ok';
}

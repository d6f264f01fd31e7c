// Everything Phase 0's checks look at: the production and staging connections, the migration set,
// and the settings a DBA gives for the window.
import type { FlightdeckError } from '../../../shared/errors';
import type { OpenConnection } from '../../connections/connect';
import type { PgBouncerConsole } from '../../connections/pgbouncer-console';
import type { MigrationSet } from '../../migrations/migration-set';
import type { ToolSearch } from '../../tools/find-tool';

export type { PgBouncerConsole } from '../../connections/pgbouncer-console';

export interface Phase0Settings {
  /** Folder of the team's regular backups; the newest must be younger than maxBackupAgeHours. */
  backupDir?: string;
  maxBackupAgeHours: number;
  /** Where the check's own dump goes (kept: it is a real backup). */
  dumpDir: string;
  /** Where the performance baseline is saved. */
  baselineDir: string;
  /** Queries and transactions older than this block the window (WORKFLOW.md: one minute). */
  longRunningMs: number;
  /** Free connections needed, as a fraction of what the server allows. */
  poolMinFreeFraction: number;
  /** The PgBouncer the applications reach production through, when there is one. */
  pgbouncer?: PgBouncerConsole;
  tools?: ToolSearch;
  /** Confirmations only a person can give: check id -> who and when. */
  attestations: Record<string, { by: string; at: string }>;
  /** Medium failures accepted with a written reason: check id -> who, when, why. */
  accepted: Record<string, { by: string; at: string; reason: string }>;
}

export const defaultPhase0Settings = { maxBackupAgeHours: 24, longRunningMs: 60_000, poolMinFreeFraction: 0.2 };

export interface Phase0Context {
  production: OpenConnection;
  productionPassword?: string;
  staging?: OpenConnection;
  set?: MigrationSet;
  /** Why the set could not be read, when it could not. */
  setError?: FlightdeckError;
  settings: Phase0Settings;
  signal?: AbortSignal;
}

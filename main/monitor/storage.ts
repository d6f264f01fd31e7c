// The storage panel's reading and schedule. Sizes, dead tuples and unused indexes change over
// minutes, and reading them costs far more than a live sample, so they are read every
// storageIntervalMs (60 s by default), not every sample, and every sample carries the last reading
// with its own readAt ("sizes from 40 s ago").
//
// The monitor has one monitoring session per target, a pool of one: a storage query running when a
// sample is due would make the sample wait for it. So a reading never runs beside a sample: it
// starts right after one, and its statements are time-boxed to the time left before the next
// (minus a reserve for round trips and the cancel itself). A reading that does not fit is cut off
// by the server and reported as "not read this time", the previous reading staying on show; it
// never delays a live sample by more than the reserve.
import type { StoragePanel } from '../../shared/monitor';
import type { EngineSession } from '../connections/adapter';

export interface StorageOptions {
  /** The largest tables listed (by total size). */
  topTables: number;
  /** Unused indexes listed (largest first); the panel also says how many there are in all. */
  unusedIndexes: number;
}

export const defaultStorageOptions: StorageOptions = { topTables: 20, unusedIndexes: 50 };

/** How often storage is read unless the monitor's start options say otherwise. */
export const defaultStorageIntervalMs = 60_000;

/** What one reading finds: the panel without the schedule's own fields. */
export type StorageReading = Omit<StoragePanel, 'readAt' | 'durationMs' | 'intervalMs' | 'error'>;

export interface StorageReader {
  /** One reading whose statements together take at most budgetMs on the server. Throws a
   * StorageReadError when it failed or was cut off. */
  read(budgetMs: number): Promise<StorageReading>;
}

export type StorageReaderFactory = (session: EngineSession, opts: StorageOptions) => StorageReader;

/** A reading that failed, worded for the DBA. */
export class StorageReadError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'StorageReadError';
  }
}

/** Below this there is no point starting a reading: it waits for a wider gap between samples. */
const minBudgetMs = 50;
/** A failed or cut-off reading is tried again after this long (or the interval, if shorter). */
const retryAfterFailureMs = 15_000;

/** Statement time a reading may use when the next sample is untilNextMs away: what is left after a
 * reserve for the pool checkout, BEGIN/COMMIT round trips and the server acting on the cancel. */
export function storageBudgetMs(untilNextMs: number, statementTimeoutMs: number): number {
  const reserve = Math.min(200, Math.max(30, untilNextMs * 0.25));
  return Math.min(statementTimeoutMs, Math.floor(untilNextMs - reserve));
}

export class StorageSchedule {
  private panel: StoragePanel | undefined;
  private nextAt = 0;
  private running = false;

  constructor(readonly intervalMs: number) {}

  /** The panel every sample carries: the last reading, and the last failure if it came after. */
  latest(): StoragePanel | undefined {
    return this.panel;
  }

  due(now = Date.now()): boolean {
    return !this.running && now >= this.nextAt;
  }

  /**
   * Reads if due and if the gap before the next sample allows. Never throws: a failure becomes the
   * panel's error, the tables of the last good reading stay. Resolves when the reading is over.
   */
  async readIfDue(reader: StorageReader, untilNextMs: number, statementTimeoutMs: number): Promise<void> {
    if (!this.due()) return;
    const budget = storageBudgetMs(untilNextMs, statementTimeoutMs);
    if (budget < minBudgetMs) return;
    this.running = true;
    const started = Date.now();
    const t0 = performance.now();
    try {
      const reading = await reader.read(budget);
      this.panel = { ...reading, readAt: started, durationMs: round(performance.now() - t0), intervalMs: this.intervalMs };
      this.nextAt = started + this.intervalMs;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const hint = e instanceof StorageReadError ? e.hint : undefined;
      const error = { message, ...(hint ? { hint } : {}), at: started };
      this.panel = this.panel
        ? { ...this.panel, error }
        : { readAt: null, durationMs: null, intervalMs: this.intervalMs, sizeSource: '', tables: [], skipped: [], unusedIndexes: [], unusedIndexCount: 0, indexStatsSince: null, error };
      this.nextAt = started + Math.min(this.intervalMs, retryAfterFailureMs);
    } finally {
      this.running = false;
    }
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

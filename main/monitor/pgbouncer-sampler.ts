// The PgBouncer in front of a monitored PostgreSQL database: its admin console read beside every
// sample (SHOW POOLS and SHOW DATABASES are answered from the pooler's memory, a millisecond or
// two), so the Pool panel shows clients queueing at the pooler, which the server's own
// pg_stat_activity cannot see. Like the host figures, a reading never delays the database sample:
// it is started with the sample and its latest result is attached.
//
// One console connection is kept open; a failed reading closes it, and the next attempt reopens
// it after a growing pause (1 s, 2 s, 4 s … 30 s), so a pooler that is down is not hammered.
import type { PoolerPanel, PoolerPool } from '../../shared/monitor';
import { FlightdeckError } from '../../shared/errors';
import { databases, num, openConsole, pgbouncerAdminDatabase, pools, str, type Console, type PgBouncerConsole } from '../connections/pgbouncer-console';
import type { Logger } from '../log';

export const poolerReadTimeoutMs = 1500;
const maxBackoffMs = 30_000;

export interface PgBouncerSamplerOptions {
  console: PgBouncerConsole;
  /** The monitored database, as the PostgreSQL profile names it. */
  database: string;
  timeoutMs?: number;
  log?: Logger;
  profileId?: string;
  now?: () => number;
  /** How the console is opened (the real admin console unless a test gives another). */
  open?: (target: PgBouncerConsole) => Promise<Console>;
}

export class PgBouncerSampler {
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly address: string;
  private console: Console | undefined;
  private opening: Promise<Console> | undefined;
  private defaultPoolSize: number | undefined;
  private last: Omit<PoolerPanel, 'address' | 'error'> = { readAt: null, pools: [], otherPools: 0, paused: false, disabled: false };
  private error: PoolerPanel['error'];
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private closed = false;

  constructor(private readonly opts: PgBouncerSamplerOptions) {
    this.timeoutMs = opts.timeoutMs ?? poolerReadTimeoutMs;
    this.now = opts.now ?? Date.now;
    const p = opts.console.profile;
    this.address = `${p.user}@${p.host}:${p.port}/${pgbouncerAdminDatabase}`;
  }

  /** Starts a reading unless one is under way or the last failure's pause has not passed. Never
   * rejects; resolves when the reading (if any) is over. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    if (this.now() < this.nextAttemptAt) return Promise.resolve();
    this.inFlight = this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  panel(): PoolerPanel {
    return { address: this.address, ...this.last, pools: this.last.pools.map((p) => ({ ...p })), ...(this.error ? { error: { ...this.error } } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async read(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FlightdeckError('QUERY_TIMEOUT', `PgBouncer at ${this.address} did not answer within ${this.timeoutMs} ms.`, 'The pools shown are from the last good reading; Flightdeck keeps trying.')), this.timeoutMs);
    });
    const work = this.readConsole();
    work.catch(() => undefined);
    try {
      await Promise.race([work, late]);
      if (this.failures) this.opts.log?.info('monitor', `${this.opts.profileId ?? this.address}: PgBouncer pools are back after ${this.failures} failed reading${this.failures === 1 ? '' : 's'}`);
      this.failures = 0;
      this.nextAttemptAt = 0;
      this.error = undefined;
    } catch (e) {
      // The console may be stuck mid-answer: start over with a new connection next time.
      await this.drop();
      this.failures++;
      this.nextAttemptAt = this.now() + Math.min(maxBackoffMs, 1000 * 2 ** (this.failures - 1));
      const message = e instanceof Error ? e.message : String(e);
      this.error = { message: `Could not read PgBouncer's pools at ${this.address}: ${message}`, hint: e instanceof FlightdeckError ? e.hint : 'The pools shown are from the last good reading; Flightdeck keeps trying.' };
      if (this.failures === 1) this.opts.log?.warn('monitor', `${this.opts.profileId ?? this.address}: ${this.error.message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readConsole(): Promise<void> {
    const c = await this.connection();
    if (this.defaultPoolSize === undefined) {
      const config = await c.query('SHOW CONFIG');
      this.defaultPoolSize = num(config.find((r) => str(r.key) === 'default_pool_size')?.value ?? 20);
    }
    const poolRows = await c.query('SHOW POOLS');
    const dbRows = await c.query('SHOW DATABASES');
    const readAt = this.now();
    const db = this.opts.database;
    const entries = databases(dbRows).filter((d) => d.name !== pgbouncerAdminDatabase);
    // The monitored database by its PgBouncer name, or by the server database an entry points at.
    const mine = entries.filter((d) => d.name === db || d.database === db);
    const names = new Set([db, ...mine.map((d) => d.name)]);
    const all = pools(poolRows).filter((p) => p.database !== pgbouncerAdminDatabase);
    const poolSizeOf = (name: string) => entries.find((d) => d.name === name)?.poolSize || this.defaultPoolSize || 20;
    const ours: PoolerPool[] = all
      .filter((p) => names.has(p.database))
      .map((p) => ({
        database: p.database,
        user: p.user,
        mode: p.mode,
        clientsActive: p.clActive,
        clientsWaiting: p.clWaiting,
        serversActive: p.svActive,
        serversIdle: p.svIdle,
        serversUsed: p.svUsed,
        poolSize: poolSizeOf(p.database),
        maxWaitSeconds: Math.round(p.maxwait * 1000) / 1000,
      }));
    this.last = {
      readAt,
      pools: ours,
      otherPools: all.length - ours.length,
      paused: mine.some((d) => d.paused),
      disabled: mine.some((d) => d.disabled),
    };
  }

  private async connection(): Promise<Console> {
    if (this.console) return this.console;
    this.opening ??= (this.opts.open ?? openConsole)(this.opts.console);
    try {
      const c = await this.opening;
      if (this.closed) {
        await c.close();
        throw new Error('the monitor stopped');
      }
      this.console = c;
      return c;
    } finally {
      this.opening = undefined;
    }
  }

  private async drop(): Promise<void> {
    const c = this.console;
    this.console = undefined;
    // A connect still under way is kept when it lands (it is a fresh connection), or closed then
    // if the monitor has stopped (see connection()).
    await c?.close().catch(() => undefined);
  }
}

// The MySQL 8 / MariaDB 10.6+ sampler: one reading of every health panel per call, through the
// target's dedicated monitoring session. Everything it reads (performance_schema, or
// information_schema.PROCESSLIST without it, the INNODB_* tables, SHOW GLOBAL STATUS, the replica
// status) is served from server memory without opening tables or taking metadata locks on them,
// so a sample completes while a migration holds or waits for a table's metadata lock. Panels fail
// one by one, each with the reason and, where a setting or grant would fix it, the statement to
// run; only a lost session fails the whole sample.
import type { PanelName, Sample } from '../../shared/monitor';
import type { SqlSession } from '../connections/adapter';
import { DigestDeltas } from './mysql-digests';
import { idleBlockerIds, locksPanel, readLockWaits, type LockWaitsReading } from './mysql-locks';
import { PanelProblem, sessionFailure, toPanelError, type PanelError } from './mysql-panel-errors';
import { readReplication } from './mysql-replication';
import { describeServer, readPerfSchemaSetup, type MysqlServer, type PerfSchemaSetup, type Queryable } from './mysql-server';
import { activityLists, idleTransactionIds, poolPanel, readLastStatements, readSessions, type SessionSnapshot } from './mysql-sessions';
import { StatusRates, type Rates } from './mysql-status-rates';
import { forSql, oneAtATime, type Sampler, type SamplerFactory, type SamplerOptions } from './sampler';

class MysqlSampler implements Sampler {
  private server: MysqlServer | undefined;
  /** Connection ids the monitoring pool has used: our own sessions are not the application's. */
  private readonly ownIds = new Set<number>();
  private readonly rates = new StatusRates();
  private readonly digests = new DigestDeltas();
  /** One sample at a time: overlapping readings would corrupt each other's deltas. */
  readonly sample = oneAtATime(() => this.sampleOnce());

  constructor(
    private readonly session: SqlSession,
    private readonly opts: SamplerOptions,
  ) {}


  private async sampleOnce(): Promise<Sample> {
    const time = Date.now();
    const started = performance.now();
    try {
      return await this.read(time, started);
    } catch (e) {
      // The server behind the address may have restarted or failed over: learn it again and start
      // the rates over, so the first sample after a reconnect does not chart a bogus burst.
      this.server = undefined;
      this.ownIds.clear();
      this.rates.reset();
      this.digests.reset();
      throw sessionFailure(e) ?? e;
    }
  }

  private async read(time: number, started: number): Promise<Sample> {
    const session = this.session;
    /** Each statement says who sent it and for which panel, so a DBA looking at the process list
     * can tell Flightdeck's sampling apart (digests drop comments, so statistics are unaffected). */
    const tagged = (panel: string): Queryable => ({ query: (sql, params) => session.query(`/* flightdeck/monitor: ${panel} */ ${sql}`, params) });
    const server = (this.server ??= await describeServer(tagged('server')));
    const errors: PanelError[] = [];
    /** Runs one panel's reading; its failure is that panel's error unless the session is gone. */
    const guarded = async <T>(panel: PanelName, read: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await read();
      } catch (e) {
        const lost = sessionFailure(e);
        if (lost) throw lost;
        errors.push(toPanelError(panel, e));
        return undefined;
      }
    };

    let setup: PerfSchemaSetup | PanelProblem;
    try {
      setup = await readPerfSchemaSetup(tagged('setup'), server);
    } catch (e) {
      const lost = sessionFailure(e);
      if (lost) throw lost;
      setup = e instanceof PanelProblem ? e : new PanelProblem(`performance_schema could not be read: ${toPanelError('pool', e).message}`);
    }

    let snap: SessionSnapshot | undefined;
    try {
      snap = await readSessions(tagged('sessions'), server, setup, this.ownIds, this.rates.threadsComplete);
    } catch (e) {
      const lost = sessionFailure(e);
      if (lost) throw lost;
      // Pool, locks and activity are all computed from the process list.
      for (const panel of ['pool', 'locks', 'activity'] as const) errors.push(toPanelError(panel, e));
    }
    if (snap?.programNotice) errors.push({ panel: 'pool', message: snap.programNotice, ...(snap.programHint ? { hint: snap.programHint } : {}) });

    let lockReading: LockWaitsReading | undefined;
    if (snap) {
      const s = snap;
      lockReading = await guarded('locks', () => readLockWaits(tagged('locks'), server, s, setup));
      if (lockReading) errors.push(...lockReading.notes);
    }

    // Read even when the process list failed, so the rates have a baseline once it works again.
    const rates: Rates | undefined = await guarded('activity', () => this.rates.read(tagged('activity'), server));

    let lastStatements = new Map<number, string>();
    if (snap) {
      const ids = [...new Set([...(lockReading ? idleBlockerIds(lockReading, snap) : []), ...idleTransactionIds(snap)])];
      lastStatements = (await guarded('activity', () => readLastStatements(tagged('activity'), setup, ids))) ?? lastStatements;
    }

    const replication = await guarded('replication', () => readReplication(tagged('replication'), server, snap));
    if (replication) errors.push(...replication.notes);

    const statements = await guarded('statements', () => this.digests.read(tagged('statements'), setup, this.opts));

    return {
      profileId: this.opts.profileId,
      engine: 'mysql',
      time,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      ...(snap ? { pool: poolPanel(snap) } : {}),
      ...(snap && lockReading ? { locks: locksPanel(lockReading, snap, lastStatements) } : {}),
      ...(replication ? { replication: replication.panel } : {}),
      ...(snap && rates ? { activity: { ...activityLists(snap, this.opts.longRunningMs, lastStatements), thresholdMs: this.opts.longRunningMs, ...rates } } : {}),
      ...(statements ? { statements } : {}),
      errors,
    };
  }
}

/** A sampler for one MySQL or MariaDB target; give it the target's monitoring session. */
export const mysqlSampler: SamplerFactory = forSql((session: SqlSession, opts: SamplerOptions) => new MysqlSampler(session, opts));

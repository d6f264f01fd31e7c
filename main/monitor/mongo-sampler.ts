// The MongoDB sampler: one reading of every health panel per call, on the target's monitoring
// client (appName flightdeck/monitor, a pool of one). It reads serverStatus (connections,
// opcounters, transactions), one $currentOp (pool, locks, activity), replSetGetStatus and the oplog
// bounds (replication), and top (statements). Each command carries maxTimeMS, so a server that
// stalls cuts it off rather than the sample piling up; none of them takes a lock that a migration's
// collection lock would make wait (serverStatus, $currentOp, replSetGetStatus and top read server
// memory; the oplog is read by its natural order). Panels fail one by one with the reason and the
// grant that would fix it; only a lost connection fails the whole sample.
import { MongoNetworkError, MongoNotConnectedError, MongoServerSelectionError, MongoTopologyClosedError, type Db, type Timestamp } from 'mongodb';
import type { ActivityPanel, PanelName, ReplicationPanel, Sample, StatementsPanel } from '../../shared/monitor';
import { FlightdeckError } from '../../shared/errors';
import type { MongoDbSession } from '../connections/adapter';
import { CounterTracker, perSecond } from './counter-rates';
import { activityLists, currentOpPipeline, locksPanel, poolPanel, type ConnectionCounts, type CurrentOp } from './mongo-operations';
import { oplogWindow, replicationPanel, type ReplSetStatus } from './mongo-replication';
import { TopDeltas, type TopTotals } from './mongo-top';
import { forMongo, oneAtATime, type Sampler, type SamplerFactory, type SamplerOptions } from './sampler';

/** Server time any one command of a sample may take. */
const commandMaxTimeMs = 1500;
/** The oplog's bounds move slowly; they are read at most this often. */
const oplogEveryMs = 15_000;

const clusterMonitorHint = 'Grant the clusterMonitor role (serverStatus, $currentOp with allUsers, replSetGetStatus, top), e.g. db.getSiblingDB("admin").grantRolesToUser("<user>", [{ role: "clusterMonitor", db: "admin" }]).';

type PanelError = Sample['errors'][number];

/** The driver's error name and code, for telling "not allowed" from "not here" from "gone". */
function codeName(e: unknown): string | undefined {
  const c = (e as { codeName?: unknown } | null)?.codeName;
  return typeof c === 'string' ? c : undefined;
}

/** The connection itself is gone: the whole sample fails and the monitor reconnects. */
function lostConnection(e: unknown): FlightdeckError | undefined {
  if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError || e instanceof MongoNotConnectedError || e instanceof MongoTopologyClosedError) {
    return new FlightdeckError('CONNECTION_LOST', `The monitoring connection to MongoDB was lost: ${e.message}`, 'Flightdeck reconnects by itself; check that the server is up and reachable.');
  }
  return undefined;
}

function panelError(panel: PanelName, e: unknown): PanelError {
  const message = e instanceof Error ? e.message : String(e);
  if (codeName(e) === 'Unauthorized') return { panel, message: `Not allowed: ${message}`, hint: clusterMonitorHint };
  if (codeName(e) === 'MaxTimeMSExpired') return { panel, message: `Not read this time: the server did not answer within ${commandMaxTimeMs} ms.` };
  return { panel, message };
}

interface ServerStatus {
  connections?: { current?: number; available?: number };
  opcounters?: Record<string, number>;
  transactions?: { totalCommitted?: number; totalAborted?: number };
  uptime?: number;
  process?: string;
}

const opKinds = ['insert', 'query', 'update', 'delete', 'getmore', 'command'] as const;

class MongoSampler implements Sampler {
  private readonly counters = new CounterTracker();
  private readonly top = new TopDeltas();
  private oplog: { at: number; value: ReplicationPanel['oplog'] } | undefined;
  /** One sample at a time: overlapping readings would corrupt each other's deltas. */
  readonly sample = oneAtATime(() => this.sampleOnce());

  constructor(
    private readonly session: MongoDbSession,
    private readonly opts: SamplerOptions,
  ) {}


  private async sampleOnce(): Promise<Sample> {
    try {
      return await this.read();
    } catch (e) {
      // Another server may answer after a reconnect (a failover): start the rates over.
      this.counters.clear();
      this.top.reset();
      this.oplog = undefined;
      throw lostConnection(e) ?? e;
    }
  }

  private async read(): Promise<Sample> {
    const time = Date.now();
    const started = performance.now();
    const admin = this.session.client().db('admin');
    const errors: PanelError[] = [];
    const guarded = async <T>(panels: readonly PanelName[], read: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await read();
      } catch (e) {
        const lost = lostConnection(e);
        if (lost) throw lost;
        for (const panel of panels) errors.push(panelError(panel, e));
        return undefined;
      }
    };

    const status = await guarded(['pool', 'activity'], () => admin.command({ serverStatus: 1, repl: 0, metrics: 0, locks: 0, wiredTiger: 0, tcmalloc: 0, asserts: 0, network: 0, maxTimeMS: commandMaxTimeMs }) as Promise<ServerStatus>);
    if (status?.process === 'mongos') {
      errors.push({ panel: 'locks', message: 'This is a mongos router: it holds no data and no locks of its own.', hint: 'Monitor each shard\'s primary (a mongod) for locks, replication and collection activity.' });
    }
    const ops = await guarded(['pool', 'locks', 'activity'], () => admin.aggregate<CurrentOp>(currentOpPipeline, { maxTimeMS: commandMaxTimeMs }).toArray());
    const replication = await guarded(['replication'], () => this.readReplication(admin));
    const statements = await guarded(['statements'], () => this.readTop(admin, time));

    const rates = status ? this.rates(time, status) : undefined;
    const conns: ConnectionCounts = { current: Number(status?.connections?.current ?? 0), available: Number(status?.connections?.available ?? 0) };
    return {
      profileId: this.opts.profileId,
      engine: 'mongodb',
      time,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      ...(ops && status ? { pool: poolPanel(ops, conns) } : {}),
      ...(ops && status?.process !== 'mongos' ? { locks: locksPanel(ops) } : {}),
      ...(replication ? { replication } : {}),
      ...(ops && rates ? { activity: { ...activityLists(ops, this.opts.longRunningMs), thresholdMs: this.opts.longRunningMs, ...rates } } : {}),
      ...(statements ? { statements } : {}),
      errors,
    };
  }

  /** Commits, aborts and operations per second from serverStatus' cumulative counters. */
  private rates(time: number, status: ServerStatus): Omit<ActivityPanel, 'longRunning' | 'longTransactions' | 'idleInTransaction' | 'thresholdMs'> {
    const op = status.opcounters ?? {};
    const tx = status.transactions ?? {};
    const values = [Number(tx.totalCommitted ?? 0), Number(tx.totalAborted ?? 0), ...opKinds.map((k) => Number(op[k] ?? 0))];
    const interval = this.counters.update(time, [{ key: 'server', values }]);
    if (!interval) return { commitsPerSec: null, rollbacksPerSec: null, deadlocksPerSec: null, tempFilesPerSec: null };
    const d = interval.deltas.get('server') ?? values.map(() => 0);
    const rate = (i: number) => perSecond(d[i] ?? 0, interval.elapsedMs);
    return {
      commitsPerSec: status.transactions ? rate(0) : null,
      rollbacksPerSec: status.transactions ? rate(1) : null,
      // MongoDB has no deadlocks (conflicting writes are retried as write conflicts) and no temp files.
      deadlocksPerSec: null,
      tempFilesPerSec: null,
      operationsPerSec: { insert: rate(2), query: rate(3), update: rate(4), delete: rate(5), getmore: rate(6), command: rate(7) },
    };
  }

  private async readReplication(admin: Db): Promise<ReplicationPanel> {
    let status: ReplSetStatus;
    try {
      status = (await admin.command({ replSetGetStatus: 1, maxTimeMS: commandMaxTimeMs })) as unknown as ReplSetStatus;
    } catch (e) {
      // A standalone server: nothing replicates.
      if (codeName(e) === 'NoReplicationEnabled' || /not running with --replSet/i.test(String((e as Error).message))) return { role: 'standalone', replicas: [], slots: [] };
      throw e;
    }
    return replicationPanel(status, await this.readOplog().catch(() => this.oplog?.value));
  }

  /** The oplog's bounds and size; read every oplogEveryMs, the last reading reused between. */
  private async readOplog(): Promise<ReplicationPanel['oplog']> {
    const now = Date.now();
    if (this.oplog && now - this.oplog.at < oplogEveryMs) return this.oplog.value;
    const local = this.session.client().db('local');
    const oplog = local.collection<{ ts: Timestamp }>('oplog.rs');
    const first = await oplog.find({}, { projection: { ts: 1 }, sort: { $natural: 1 }, limit: 1, maxTimeMS: commandMaxTimeMs }).next();
    const last = await oplog.find({}, { projection: { ts: 1 }, sort: { $natural: -1 }, limit: 1, maxTimeMS: commandMaxTimeMs }).next();
    const [stats] = await oplog.aggregate<{ storageStats?: { size?: number; maxSize?: number } }>([{ $collStats: { storageStats: {} } }], { maxTimeMS: commandMaxTimeMs }).toArray();
    const value = first && last ? oplogWindow(first.ts.getHighBits(), last.ts.getHighBits(), Number(stats?.storageStats?.size ?? 0), Number(stats?.storageStats?.maxSize ?? 0)) : undefined;
    this.oplog = { at: now, value };
    return value;
  }

  private async readTop(admin: Db, time: number): Promise<StatementsPanel> {
    let totals: TopTotals;
    try {
      totals = ((await admin.command({ top: 1, maxTimeMS: commandMaxTimeMs })).totals ?? {}) as TopTotals;
    } catch (e) {
      if (codeName(e) === 'Unauthorized') return { available: false, hint: `The user may not run the top command. ${clusterMonitorHint}`, top: [], tracked: 0 };
      if (codeName(e) === 'CommandNotFound') return { available: false, hint: 'The top command exists on mongod only: monitor each shard\'s primary for collection activity.', top: [], tracked: 0 };
      throw e;
    }
    return this.top.panel(time, totals, this.opts.topStatements);
  }
}

/** A sampler for one MongoDB target; give it the target's monitoring session. */
export const mongoSampler: SamplerFactory = forMongo((session, opts: SamplerOptions) => new MongoSampler(session, opts));

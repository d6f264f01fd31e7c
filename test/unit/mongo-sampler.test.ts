// The MongoDB health panels' logic against a stand-in driver that answers with documents shaped as
// MongoDB 7 returns them (serverStatus, $currentOp with idle connections and idle sessions,
// replSetGetStatus, top, $collStats, $indexStats). There is no MongoDB server on this machine; the
// same panels run against a live one in test/integration/monitor-mongodb.test.ts when
// FLIGHTDECK_TEST_MONGODB_URL is set.
import { MongoNetworkError, Timestamp, UUID } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { MongoDbSession } from '../../main/connections/adapter';
import { createLogger } from '../../main/log';
import { EventBus } from '../../main/events';
import { idOf, locksPanel, type CurrentOp } from '../../main/monitor/mongo-operations';
import { mongoSampler } from '../../main/monitor/mongo-sampler';
import { mongoStorage } from '../../main/monitor/mongo-storage';
import { signalBackend } from '../../main/monitor/signal-backend';
import type { Profile } from '../../shared/profile';

type Doc = Record<string, unknown>;

interface FakeServer {
  serverStatus: () => Doc;
  currentOp: () => Doc[];
  replSetGetStatus: () => Doc;
  top: () => Doc;
  oplog?: { first: number; last: number; size: number; maxSize: number };
  collections?: Record<string, { stats: Doc | Error; indexes: Doc[] }>;
  commands: Doc[];
}

function serverError(codeName: string, message: string): Error {
  return Object.assign(new Error(message), { codeName });
}

const cursor = <T,>(produce: () => T[]) => ({
  toArray: async () => produce(),
  next: async () => produce()[0] ?? null,
});

function fakeSession(server: FakeServer, database = 'shop'): MongoDbSession {
  const command = async (doc: Doc) => {
    server.commands.push(doc);
    const [name] = Object.keys(doc);
    if (name === 'serverStatus') return server.serverStatus();
    if (name === 'replSetGetStatus') return server.replSetGetStatus();
    if (name === 'top') return server.top();
    if (name === 'killOp' || name === 'killSessions') return { ok: 1 };
    throw new Error(`unexpected command ${name}`);
  };
  const collection = (dbName: string, coll: string) => ({
    find: () => ({
      next: async () => null,
      ...{},
    }),
    aggregate: (pipeline: Doc[]) =>
      cursor(() => {
        const stage = Object.keys(pipeline[0]!)[0];
        if (dbName === 'local' && coll === 'oplog.rs') return [{ storageStats: { size: server.oplog!.size, maxSize: server.oplog!.maxSize } }];
        const c = server.collections?.[coll];
        if (!c) return [];
        if (stage === '$collStats') {
          if (c.stats instanceof Error) throw c.stats;
          return [c.stats];
        }
        return c.indexes;
      }),
  });
  const db = (name: string) => ({
    databaseName: name,
    command,
    aggregate: (pipeline: Doc[]) =>
      cursor(() => {
        const match = pipeline.find((s) => '$match' in s)?.$match as Doc | undefined;
        const ops = server.currentOp();
        if (!match) return ops;
        if ('opid' in match) return ops.filter((o) => o.opid === match.opid);
        const wanted = (match['lsid.id'] as UUID).toHexString();
        return ops.filter((o) => (o.lsid as { id?: UUID } | undefined)?.id?.toHexString() === wanted);
      }),
    listCollections: () => cursor(() => Object.keys(server.collections ?? {}).map((n) => ({ name: n, type: 'collection' }))),
    collection: (coll: string) => {
      const base = collection(name, coll);
      if (name === 'local' && coll === 'oplog.rs') {
        return {
          ...base,
          find: (_q: Doc, opts: { sort: { $natural: number } }) => ({
            next: async () => (server.oplog ? { ts: new Timestamp({ t: opts.sort.$natural > 0 ? server.oplog.first : server.oplog.last, i: 1 }) } : null),
          }),
        };
      }
      return base;
    },
  });
  const client = { db };
  return {
    engine: 'mongodb',
    database,
    client: () => client as never,
    mongo: () => ({ client, db: db(database) }) as never,
    inspect: async () => {
      throw new Error('not used');
    },
    close: async () => undefined,
  };
}

const txSession = new UUID('0123456789abcdef0123456789abcdef');
const baseOps = (): Doc[] => [
  // The monitor's own connection: never counted.
  { type: 'op', desc: 'conn1', connectionId: 1, client: '10.0.0.9:50000', appName: 'flightdeck/monitor', active: true, opid: 900, op: 'command', ns: 'admin.$cmd.aggregate', command: { aggregate: 1 } },
  { type: 'op', desc: 'conn10', connectionId: 10, client: '10.0.0.5:41000', appName: 'shop-api', active: false, effectiveUsers: [{ user: 'app', db: 'admin' }] },
  { type: 'op', desc: 'conn11', connectionId: 11, client: '10.0.0.5:41001', appName: 'shop-api', active: true, opid: 501, op: 'query', ns: 'shop.orders', command: { find: 'orders', filter: { status: 'open' } }, microsecs_running: 95_000_000, secs_running: 95, effectiveUsers: [{ user: 'app', db: 'admin' }], locks: { FeatureCompatibilityVersion: 'r', Global: 'r', Database: 'r', Collection: 'r' } },
  {
    type: 'op', desc: 'conn12', connectionId: 12, client: '10.0.0.7:52000', appName: 'migrate', active: true, opid: 502, op: 'command', ns: 'shop.orders', command: { dropIndexes: 'orders', index: 'status_1' },
    microsecs_running: 4_200_000, waitingForLock: true, effectiveUsers: [{ user: 'dba', db: 'admin' }], locks: { FeatureCompatibilityVersion: 'w', Global: 'w', Database: 'w', Collection: 'W' },
  },
  { type: 'op', desc: 'conn13', connectionId: 13, client: '10.0.0.8:53000', appName: 'report', active: true, opid: 503, op: 'query', ns: 'shop.customers', command: { find: 'customers' }, microsecs_running: 1000, effectiveUsers: [{ user: 'report', db: 'admin' }], locks: { Global: 'r', Database: 'r', Collection: 'r' } },
  // An internal thread: not a client connection.
  { type: 'op', desc: 'WTCheckpointThread', active: true, opid: 3, op: 'none' },
  // A transaction between its statements: an idle session, no operation, its locks kept.
  {
    type: 'idleSession', desc: 'inactive transaction', client: '10.0.0.5:41002', appName: 'shop-api', active: false, lsid: { id: txSession }, effectiveUsers: [{ user: 'app', db: 'admin' }],
    transaction: { parameters: { txnNumber: 7, autocommit: false }, timeOpenMicros: 130_000_000, timeInactiveMicros: 129_000_000 }, locks: { FeatureCompatibilityVersion: 'w', Global: 'w', Database: 'w', Collection: 'w' },
  },
];

function server(over: Partial<FakeServer> = {}): FakeServer {
  let reading = 0;
  return {
    serverStatus: () => {
      reading++;
      return { process: 'mongod', connections: { current: 8, available: 838_852 }, opcounters: { insert: 100 * reading, query: 1000 * reading, update: 10 * reading, delete: 0, getmore: 5 * reading, command: 2000 * reading }, transactions: { totalCommitted: 50 * reading, totalAborted: 2 * reading } };
    },
    currentOp: baseOps,
    replSetGetStatus: () => {
      throw serverError('NoReplicationEnabled', 'not running with --replSet');
    },
    top: () => ({ totals: { note: 'all times in microseconds', 'shop.orders': { total: { time: 0, count: 0 }, queries: { time: 5000 * reading, count: 100 * reading }, insert: { time: 800 * reading, count: 10 * reading } }, 'admin.system.roles': { queries: { time: 9, count: 9 } } } }),
    commands: [],
    ...over,
  };
}

const opts = { profileId: 'm', longRunningMs: 60_000, topStatements: 20 };

describe('MongoDB sampler', () => {
  it('counts client connections by application and user, leaving out its own and internal threads', async () => {
    const s = await mongoSampler(fakeSession(server()), opts).sample();
    expect(s.engine).toBe('mongodb');
    expect(s.errors).toEqual([]);
    expect(s.pool).toEqual({
      total: 4,
      active: 3,
      idle: 1,
      idleInTransaction: 1,
      waiting: 1,
      max: 8 + 838_852,
      reserved: 0,
      byApplication: [
        { name: 'shop-api', count: 2 },
        { name: 'migrate', count: 1 },
        { name: 'report', count: 1 },
      ],
      byUser: [
        { name: 'app', count: 2 },
        { name: 'dba', count: 1 },
        { name: 'report', count: 1 },
      ],
    });
  });

  it('infers the blockers of a lock wait from conflicting lock modes on the same collection, idle transactions included', async () => {
    const s = await mongoSampler(fakeSession(server()), opts).sample();
    const txId = idOf(baseOps()[6] as CurrentOp);
    expect(txId).toBeLessThan(0);
    expect(s.locks!.waiting).toBe(1);
    expect(s.locks!.waits).toEqual([
      { pid: 502, blockedBy: [501, txId], mode: 'X (W)', relation: 'shop.orders', lockType: 'collection', waitMs: 4200, user: 'dba', application: 'migrate', query: '{"dropIndexes":"orders","index":"status_1"}' },
    ]);
    // The find on another collection holds a compatible lock there and is not a blocker.
    expect(s.locks!.blockers.map((b) => b.pid).sort()).toEqual([txId, 501].sort());
    expect(s.locks!.blockers.find((b) => b.pid === txId)).toEqual({ pid: txId, user: 'app', application: 'shop-api', state: 'idle in transaction', xactMs: 130_000, query: '(idle in transaction 7)', waiting: false, sessionId: '0123456789abcdef0123456789abcdef' });
  });

  it('does not make two waiters block each other through the lock they both wait for', () => {
    const w = (opid: number): CurrentOp => ({ type: 'op', opid, connectionId: opid, client: 'x', active: true, ns: 'shop.orders', waitingForLock: true, locks: { Global: 'w', Database: 'w', Collection: 'W' } });
    const panel = locksPanel([w(1), w(2)]);
    expect(panel.waits.map((x) => x.blockedBy)).toEqual([[], []]);
  });

  it('lists long operations and transactions, and turns serverStatus counters into rates from the second sample', async () => {
    const sampler = mongoSampler(fakeSession(server()), opts);
    const first = await sampler.sample();
    expect(first.activity).toMatchObject({ commitsPerSec: null, rollbacksPerSec: null, deadlocksPerSec: null, tempFilesPerSec: null, thresholdMs: 60_000 });
    expect(first.activity!.longRunning.map((r) => [r.pid, r.durationMs, r.state])).toEqual([[501, 95_000, 'active']]);
    expect(first.activity!.longTransactions.map((r) => [r.sessionId, r.durationMs])).toEqual([['0123456789abcdef0123456789abcdef', 130_000]]);
    expect(first.activity!.idleInTransaction).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    const second = await sampler.sample();
    const a = second.activity!;
    const seconds = (second.time - first.time) / 1000;
    expect(Math.round(a.commitsPerSec! * seconds)).toBe(50);
    expect(Math.round(a.rollbacksPerSec! * seconds)).toBe(2);
    expect(Math.round(a.operationsPerSec!.query * seconds)).toBe(1000);
    expect(a.deadlocksPerSec).toBeNull();
  });

  it('charts top deltas per collection and operation kind, without system namespaces', async () => {
    const sampler = mongoSampler(fakeSession(server()), opts);
    const first = await sampler.sample();
    expect(first.statements).toMatchObject({ available: true, top: [], tracked: 2, intervalMs: null });
    expect(first.statements!.note).toMatch(/per collection and operation kind/);
    await new Promise((r) => setTimeout(r, 20));
    const second = (await sampler.sample()).statements!;
    expect(second.top.map((r) => r.id)).toEqual(['shop.orders queries', 'shop.orders insert']);
    const q = second.top[0]!;
    expect(q.query).toBe('find on shop.orders');
    expect(q.meanMs).toBeCloseTo(0.05);
    expect(Math.round((q.callsPerSec * second.intervalMs!) / 1000)).toBe(100);
    expect(q.rowsPerSec).toBeNull();
  });

  it('says how to grant what a panel needs, and keeps the other panels', async () => {
    const denied = () => {
      throw serverError('Unauthorized', 'not authorized on admin to execute command { aggregate: 1, pipeline: [ { $currentOp: ... } ] }');
    };
    const s = await mongoSampler(fakeSession(server({ currentOp: denied, top: denied })), opts).sample();
    expect(s.errors.map((e) => e.panel).sort()).toEqual(['activity', 'locks', 'pool']);
    expect(s.errors[0]!.hint).toMatch(/clusterMonitor/);
    expect(s.pool).toBeUndefined();
    expect(s.statements).toMatchObject({ available: false, hint: expect.stringMatching(/may not run the top command.*clusterMonitor/) });
    expect(s.replication).toEqual({ role: 'standalone', replicas: [], slots: [] });
  });

  it('fails the whole sample as a lost connection when the network goes', async () => {
    const gone = () => {
      throw new MongoNetworkError('connection 3 to 10.0.0.1:27017 closed');
    };
    await expect(mongoSampler(fakeSession(server({ serverStatus: gone })), opts).sample()).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  });

  it('reads replica-set lag per member on a primary, its own lag on a secondary, and the oplog window', async () => {
    const now = Date.UTC(2026, 10, 24, 10, 0, 0);
    const members = (self: number) => [
      { _id: 0, name: 'db1:27017', health: 1, state: 1, stateStr: 'PRIMARY', optimeDate: new Date(now), self: self === 0 },
      { _id: 1, name: 'db2:27017', health: 1, state: 2, stateStr: 'SECONDARY', optimeDate: new Date(now - 12_500), syncSourceHost: 'db1:27017', self: self === 1 },
      { _id: 2, name: 'db3:27017', health: 0, state: 8, stateStr: '(not reachable/healthy)', optimeDate: new Date(0), self: false },
    ];
    const oplog = { first: 1_000_000, last: 1_000_000 + 36 * 3600, size: 900_000_000, maxSize: 990_000_000 };
    const onPrimary = await mongoSampler(fakeSession(server({ replSetGetStatus: () => ({ set: 'rs0', myState: 1, members: members(0) }), oplog })), opts).sample();
    expect(onPrimary.replication).toEqual({
      role: 'primary',
      replicas: [
        { name: 'db2:27017', address: 'db2:27017', state: 'SECONDARY', lagBytes: null, lagSeconds: 12.5, syncState: 'syncs from db1:27017' },
        { name: 'db3:27017', address: 'db3:27017', state: 'unreachable (last (not reachable/healthy))', lagBytes: null, lagSeconds: null },
      ],
      slots: [],
      oplog: { windowSeconds: 36 * 3600, usedBytes: 900_000_000, maxBytes: 990_000_000 },
    });
    const onSecondary = await mongoSampler(fakeSession(server({ replSetGetStatus: () => ({ set: 'rs0', myState: 2, members: members(1) }), oplog })), opts).sample();
    expect(onSecondary.replication).toMatchObject({ role: 'replica', replicas: [], self: { lagSeconds: 12.5, lagBytes: null, replayPaused: false, state: 'SECONDARY, syncs from db1:27017' } });
  });
});

describe('MongoDB storage reader', () => {
  it('sizes collections from storageStats, lists unused indexes (not _id or unique), and names a collection it could not size in time', async () => {
    const since = new Date(Date.UTC(2026, 10, 1));
    const srv = server({
      collections: {
        orders: {
          stats: { storageStats: { size: 5e9, count: 1_000_000, storageSize: 2e9, freeStorageSize: 5e8, totalIndexSize: 3e8, indexSizes: { _id_: 1e8, status_1: 1.5e8, email_1: 5e7 } } },
          indexes: [
            { name: '_id_', accesses: { ops: 0, since } },
            { name: 'status_1', accesses: { ops: 0, since } },
            { name: 'email_1', accesses: { ops: 0, since }, spec: { unique: true } },
          ],
        },
        customers: { stats: { storageStats: { count: 20_000, storageSize: 4e6, totalIndexSize: 1e6, indexSizes: { _id_: 1e6 } } }, indexes: [{ name: '_id_', accesses: { ops: 50, since } }] },
        events: { stats: serverError('MaxTimeMSExpired', 'operation exceeded time limit'), indexes: [] },
      },
    });
    const reading = await mongoStorage(fakeSession(srv), { topTables: 20, unusedIndexes: 50 }).read(1000);
    expect(reading.tables.map((t) => [t.name, t.totalBytes, t.liveRows, t.bloatBytes, t.bloatRatio])).toEqual([
      ['orders', 2.3e9, 1_000_000, 5e8, 0.25],
      ['customers', 5e6, 20_000, null, null],
    ]);
    expect(reading.unusedIndexes).toEqual([{ schema: 'shop', table: 'orders', name: 'status_1', bytes: 1.5e8 }]);
    expect(reading.indexStatsSince).toBe(since.getTime());
    expect(reading.skipped).toEqual([{ schema: 'shop', name: 'events', reason: 'its statistics did not come within the time left (a DDL may hold its lock)' }]);
  });
});

describe('cancel and terminate on MongoDB', () => {
  const profile: Profile = { id: 'm', name: 'shop mongo', engine: 'mongodb', environment: 'staging', host: 'db1', port: 27017, database: 'shop', user: 'dba', tls: { mode: 'disable' }, connectTimeoutMs: 5000 };
  const log = createLogger(new EventBus());

  it('kills an operation by its opid, and ends an idle transaction\'s session', async () => {
    const srv = server();
    const session = fakeSession(srv);
    expect(await signalBackend(profile, session, { pid: 501, action: 'cancel' }, log)).toEqual({ signalled: true, message: 'Cancelled operation 501 on shop mongo.' });
    expect(srv.commands.at(-1)).toEqual({ killOp: 1, op: 501 });
    const ended = await signalBackend(profile, session, { pid: -5, sessionId: '0123456789abcdef0123456789abcdef', action: 'terminate' }, log);
    expect(ended.message).toBe('Ended session 01234567 on shop mongo: its open transaction was aborted.');
    const kill = srv.commands.at(-1) as { killSessions: { id: UUID }[] };
    expect(kill.killSessions[0]!.id.toHexString(false)).toBe('0123456789abcdef0123456789abcdef');
    expect(await signalBackend(profile, session, { pid: 4242, action: 'terminate' }, log)).toEqual({ signalled: false, message: 'Operation 4242 was not found on shop mongo; it may have ended already.' });
  });
});

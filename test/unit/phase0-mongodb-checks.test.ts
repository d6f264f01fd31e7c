// Phase 0's MongoDB branches without a server. The checks that read only the migration files
// (rollback scripts, syntax, the staging dry run's refusal) run on real migrate-mongo files. The
// checks that ask the server run against a stand-in for the driver's Db and MongoClient that answers
// as a server does (serverStatus, top, $currentOp, listCollections, listIndexes, $collStats): what
// they decide from the answers is checked here; the questions themselves need a live server
// (test/integration/phase0-mongodb.test.ts).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BSON } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Profile } from '../../shared/profile';
import type { MongoDbSession } from '../../main/connections/adapter';
import type { OpenConnection } from '../../main/connections/connect';
import { readMigrationSet } from '../../main/migrations/migration-set';
import type { CheckOutcome } from '../../main/phases/check';
import { lockAnalysis } from '../../main/phases/phase0/checks/lock-analysis';
import { migrationSyntax } from '../../main/phases/phase0/checks/migration-syntax';
import { performanceBaseline } from '../../main/phases/phase0/checks/performance-baseline';
import { poolHeadroom } from '../../main/phases/phase0/checks/pool-headroom';
import { rollbackScripts } from '../../main/phases/phase0/checks/rollback-scripts';
import { stagingDryRun } from '../../main/phases/phase0/checks/staging-dry-run';
import { stagingRows } from '../../main/phases/phase0/checks/staging-rows';
import { stagingSchema } from '../../main/phases/phase0/checks/staging-schema';
import { defaultPhase0Settings, type Phase0Context } from '../../main/phases/phase0/context';
import { writeSet } from '../support/migration-dbs';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-p0-mongo-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** What the stand-in server holds and answers. */
interface FakeServer {
  collections?: { name: string; type?: string; options?: Record<string, unknown> }[];
  indexes?: Record<string, Record<string, unknown>[]>;
  counts?: Record<string, number>;
  collStats?: Record<string, Record<string, number>>;
  changelog?: { fileName: string; appliedAt: Date }[];
  command?: (cmd: Record<string, unknown>) => unknown;
  currentOp?: (stage: Record<string, unknown>, pipeline: Record<string, unknown>[]) => unknown[];
}

function fakeSession(server: FakeServer, dbName = 'shop'): { session: MongoDbSession; calls: string[] } {
  const calls: string[] = [];
  const cursor = <T>(rows: T[]) => ({ toArray: async () => rows, sort: () => cursor(rows), limit: (n: number) => cursor(rows.slice(0, n)), next: async () => rows[0] ?? null });
  const db = {
    databaseName: dbName,
    listCollections: () => cursor(server.collections ?? []),
    collection: (name: string) => ({
      listIndexes: () => cursor(server.indexes?.[name] ?? []),
      estimatedDocumentCount: async () => {
        calls.push(`count ${name}`);
        return server.counts?.[name] ?? 0;
      },
      aggregate: (pipeline: Record<string, unknown>[]) => {
        calls.push(`aggregate ${name} ${JSON.stringify(pipeline)}`);
        return cursor(server.collStats?.[name] ? [{ storageStats: server.collStats[name] }] : []);
      },
      find: () => cursor(name === 'changelog' ? (server.changelog ?? []) : []),
    }),
  };
  const admin = {
    databaseName: 'admin',
    command: async (cmd: Record<string, unknown>) => {
      calls.push(`command ${Object.keys(cmd)[0]}`);
      const r = server.command?.(cmd);
      if (r instanceof Error) throw r;
      if (r === undefined) throw Object.assign(new Error(`no such command: '${Object.keys(cmd)[0]}'`), { codeName: 'CommandNotFound' });
      return r;
    },
    aggregate: (pipeline: Record<string, unknown>[]) => {
      const stage = (pipeline[0] as { $currentOp: Record<string, unknown> }).$currentOp;
      calls.push(`$currentOp ${JSON.stringify(stage)}`);
      return cursor(server.currentOp?.(stage, pipeline) ?? []);
    },
  };
  const client = { db: (name?: string) => (name === 'admin' ? admin : db) };
  const session = {
    engine: 'mongodb' as const,
    mongo: () => ({ client, db }) as unknown as ReturnType<MongoDbSession['mongo']>,
    client: () => client as unknown as ReturnType<MongoDbSession['client']>,
    database: 'shop',
    inspect: async () => {
      throw new Error('not used');
    },
    close: async () => undefined,
  };
  return { session, calls };
}

function profile(name: string): Profile {
  return { id: name, name, engine: 'mongodb', environment: 'production', host: `${name}.example.com`, port: 27017, database: 'shop', user: 'dba', tls: { mode: 'disable' }, connectTimeoutMs: 5000 };
}
function open(session: MongoDbSession, name = 'prod'): OpenConnection {
  return { profile: profile(name), session, route: { address: `${name}.example.com:27017` }, close: async () => undefined };
}

async function context(over: { production?: FakeServer; staging?: FakeServer; set?: Record<string, string>; settings?: Partial<Phase0Context['settings']> } = {}): Promise<Phase0Context> {
  const prod = fakeSession(over.production ?? {});
  const stag = fakeSession(over.staging ?? {});
  return {
    production: open(prod.session),
    staging: open(stag.session, 'staging'),
    ...(over.set ? { set: await readMigrationSet(await writeSet(over.set)) } : {}),
    settings: { ...defaultPhase0Settings, dumpDir: path.join(work, 'dumps'), baselineDir: path.join(work, 'baselines'), attestations: {}, accepted: {}, ...over.settings },
  };
}
const run = (check: { run: (ctx: Phase0Context, p: (m: string) => void) => Promise<CheckOutcome> }, ctx: Phase0Context) => check.run(ctx, () => undefined);

const migrations = {
  '20240101000000-customers.js': `module.exports = {
  async up(db) {
    await db.createCollection('customers');
    await db.collection('customers').createIndex({ email: 1 }, { unique: true });
  },
  async down(db) {
    await db.collection('customers').drop();
  },
};
`,
  '20240102000000-orders.mjs': `export async function up(db) {
  await db.createCollection('orders');
}
export async function down(db) {
  await db.collection('orders').drop();
}
`,
};

describe('Phase 0 checks of a migrate-mongo set (no server needed)', () => {
  it('passes when every file loads and exports up and down', async () => {
    const ctx = await context({ set: migrations });
    const rb = await run(rollbackScripts, ctx);
    expect(rb).toMatchObject({ status: 'pass', summary: 'All 2 migrations have a down function.' });
    expect(rb.evidence!.tables![0]!.rows).toEqual([
      ['20240101000000', '20240101000000-customers.js', 'yes', 'yes'],
      ['20240102000000', '20240102000000-orders.mjs', 'yes', 'yes'],
    ]);
    const syn = await run(migrationSyntax, ctx);
    expect(syn).toMatchObject({ status: 'pass', summary: 'All 2 files load and export up.' });
    expect(syn.evidence!.facts![0]![1]).toMatch(/^Node \d+\.\d+\.\d+'s own: each file is loaded as the runner loads it/);
  });

  it('stops the window when a file has no down function, listing the files', async () => {
    const ctx = await context({
      set: {
        ...migrations,
        '20240103000000-backfill.js': 'module.exports = { async up(db) { await db.collection("orders").updateMany({}, { $set: { v: 2 } }); } };\n',
        '20240104000000-index.js': 'exports.up = async (db) => db.collection("orders").createIndex({ v: 1 });\n',
      },
    });
    const rb = await run(rollbackScripts, ctx);
    expect(rb).toMatchObject({ status: 'fail', summary: '2 migration(s) have no down function: 20240103000000-backfill.js, 20240104000000-index.js.' });
    expect(rb.hint).toMatch(/^Write the down functions/);
    expect(rb.evidence!.tables![0]!.rows[2]).toEqual(['20240103000000', '20240103000000-backfill.js', 'yes', 'MISSING']);
  });

  it('names every file with a syntax error, with its line, CommonJS and ES modules alike', async () => {
    const ctx = await context({
      set: {
        ...migrations,
        '20240103000000-broken.js': 'module.exports = {\n  async up(db) {\n    await db.collection("x").insertOne({ a: 1 );\n  },\n  async down(db) {},\n};\n',
        '20240104000000-broken.mjs': 'export async function up(db) {\n  const x = ;\n}\nexport async function down() {}\n',
        '20240105000000-onlydown.js': 'module.exports = { async down(db) {} };\n',
      },
    });
    const syn = await run(migrationSyntax, ctx);
    expect(syn.status).toBe('fail');
    const rows = syn.evidence!.tables![0]!.rows;
    expect(rows.map((r) => [r[0], r[1]])).toEqual([
      ['20240103000000-broken.js', '3'],
      ['20240104000000-broken.mjs', '2'],
      ['20240105000000-onlydown.js', ''],
    ]);
    expect(rows[0]![2]).toMatch(/^missing \) after argument list|^Unexpected token/);
    expect(rows[2]![2]).toBe('exports no up function (only down)');
    expect(syn.summary).toMatch(/^3 error\(s\) in the migration files, first: 20240103000000-broken\.js:3 /);
    // A file that cannot load cannot show its down function either.
    const rb = await run(rollbackScripts, ctx);
    expect(rb.status).toBe('fail');
    expect(rb.summary).toContain('2 file(s) cannot be loaded, so their down function is unknown: 20240103000000-broken.js, 20240104000000-broken.mjs');
  });

  it('refuses a SQL set for a MongoDB production', async () => {
    const ctx = await context({ set: { '1_customers.up.sql': 'create table c (id int);\n', '1_customers.down.sql': 'drop table c;\n' } });
    const syn = await run(migrationSyntax, ctx);
    expect(syn.status).toBe('fail');
    expect(syn.summary).toMatch(/holds SQL migrations \(golang-migrate\); MongoDB runs migrate-mongo sets/);
  });

  it('skips the staging dry run, saying why', async () => {
    const dry = await run(stagingDryRun, await context({ set: migrations }));
    expect(dry.status).toBe('skipped');
    expect(dry.summary).toMatch(/^MongoDB applies each operation as it runs: .* cannot be wrapped in a transaction and rolled back/);
    expect(dry.summary).toContain('the staging rehearsal (Phase 2) runs them for real');
  });
});

const connections = (current: number, available: number) => ({ ok: 1, connections: { current, available, totalCreated: 9001, active: 3 }, opcounters: { insert: 10, query: 20, update: 30, delete: 4, getmore: 5, command: 600 }, uptime: 7200, version: '7.0.12' });

describe('Phase 0 checks that ask a MongoDB server (stand-in driver)', () => {
  it('pool headroom: current against current + available, with the clients by application and user', async () => {
    const byClient = [{ _id: { app: 'orders-api', user: 'app' }, n: 40, active: 2, tx: 1 }, { _id: { app: '(none)', user: '' }, n: 3, active: 0, tx: 0 }];
    const ok = await run(poolHeadroom, await context({ production: { command: () => connections(60, 740), currentOp: () => byClient } }));
    expect(ok).toMatchObject({ status: 'pass', summary: '740 of 800 connections free (60 in use).' });
    expect(ok.evidence!.tables![0]).toEqual({ title: 'Connections by client', columns: ['application', 'user', 'connections', 'active', 'in transaction'], rows: [['orders-api', 'app', '40', '2', '1'], ['(none)', '', '3', '0', '0']] });
    const full = await run(poolHeadroom, await context({ production: { command: () => connections(700, 100), currentOp: () => byClient } }));
    expect(full).toMatchObject({ status: 'fail', summary: 'Only 100 of 800 connections are free (700 in use); the window needs at least 160 free.' });
    expect(full.hint).toContain('maxPoolSize');
    const denied = await run(poolHeadroom, await context({ production: { command: () => Object.assign(new Error('not authorized on admin to execute command { serverStatus: 1 }'), { codeName: 'Unauthorized' }) } }));
    expect(denied.status).toBe('fail');
    expect(denied.hint).toContain('clusterMonitor');
  });

  it('lock analysis: long operations in this database, lock waits and old transactions fail; other databases\' work does not', async () => {
    const lsid = { id: new BSON.UUID('0f8fad5b-d9cb-469f-a165-70867728950e') };
    const ops = [
      { type: 'op', opid: 101, op: 'query', ns: 'shop.orders', appName: 'fd-test/sleeper', client: '10.0.0.5:51234', active: true, microsecs_running: BSON.Long.fromNumber(4_200_000), command: { find: 'orders', filter: { $where: 'sleep(5000) || true' }, lsid, $db: 'shop' }, effectiveUsers: [{ user: 'app', db: 'admin' }], locks: { FeatureCompatibilityVersion: 'r', Global: 'r', Database: 'r', Collection: 'r' } },
      { type: 'op', opid: 102, op: 'command', ns: 'shop.orders', appName: 'migrator', active: true, microsecs_running: 30_000, waitingForLock: true, command: { collMod: 'orders', validator: {} }, locks: { Global: 'w', Database: 'w', Collection: 'W' } },
      { type: 'idleSession', lsid, transaction: { timeOpenMicros: 95_000_000, parameters: { txnNumber: 3 } }, locks: { Global: 'w', Database: 'w', Collection: 'w' } },
      { type: 'op', opid: 103, op: 'getmore', ns: 'local.oplog.rs', desc: 'conn9', active: true, microsecs_running: 9_000_000 },
      { type: 'op', opid: 104, op: 'query', ns: 'reports.daily', active: true, microsecs_running: 600_000_000 },
    ];
    let stage: Record<string, unknown> = {};
    let match: unknown;
    const ctx = await context({
      production: {
        currentOp: (s, pipeline) => {
          stage = s;
          match = pipeline[1];
          return ops;
        },
      },
      settings: { longRunningMs: 1000 },
    });
    const r = await run(lockAnalysis, ctx);
    // Idle sessions are asked for: an idle transaction keeps its locks.
    expect(stage).toEqual({ allUsers: true, idleSessions: true });
    expect(match).toEqual({ $match: { $or: [{ microsecs_running: { $gte: 1_000_000 } }, { waitingForLock: true }, { 'transaction.timeOpenMicros': { $gte: 1_000_000 } }] } });
    expect(r.status).toBe('fail');
    expect(r.summary).toBe('3 operation(s) or transaction(s) have run for over 1.0 s or wait for a lock (1 waiting).');
    const rows = r.evidence!.tables![0]!.rows;
    expect(rows.map((x) => x.slice(0, 5))).toEqual([
      ['101', 'app', 'fd-test/sleeper', 'active', '4.2 s'],
      ['102', '', 'migrator', 'waiting for lock', '30 ms'],
      ['lsid 0f8fad5bd9cb', '', '', 'idle in transaction', '95.0 s'],
    ]);
    expect(rows[0]![5]).toBe('query shop.orders {"find":"orders","filter":{"$where":"sleep(5000) || true"}}');
    expect(r.evidence!.tables![1]!.rows).toContainEqual(['102', 'Collection', 'W', 'waiting']);
    expect(r.evidence!.tables![1]!.rows).toContainEqual(['101', 'Collection', 'r', 'held']);
    const quiet = await run(lockAnalysis, await context({ production: { currentOp: () => [ops[3], ops[4]] } }));
    expect(quiet).toMatchObject({ status: 'pass', summary: 'No operation or transaction older than 60.0 s, and none waiting for a lock.' });
  });

  it('staging rows: estimatedDocumentCount of the largest collections side by side, views and bookkeeping left out', async () => {
    const collections = [
      { name: 'orders', type: 'collection' },
      { name: 'customers', type: 'collection' },
      { name: 'paid', type: 'view' },
      { name: 'metrics', type: 'timeseries' },
      { name: 'changelog', type: 'collection' },
      { name: 'tiny', type: 'collection' },
    ];
    const ctx = await context({
      production: { collections, counts: { orders: 2_000_000, customers: 50_000, tiny: 3, changelog: 99_999_999 } },
      staging: { collections: collections.filter((c) => c.name !== 'customers'), counts: { orders: 10_000, tiny: 3 } },
    });
    const r = await run(stagingRows, ctx);
    expect(r.status).toBe('fail');
    expect(r.summary).toBe("Staging has under 10% of production's documents in orders, customers: the rehearsal's timings will not predict production's.");
    expect(r.evidence!.tables![0]).toEqual({
      title: 'Largest production collections (estimated documents)',
      columns: ['collection', 'production', 'staging', 'staging / production'],
      rows: [['orders', '2000000', '10000', '1%'], ['customers', '50000', 'missing', ''], ['tiny', '3', '3', '100%']],
    });
  });

  it('performance baseline: opcounters, top per collection and $collStats sizes saved; a medium failure naming the role when top is refused', async () => {
    const top = {
      totals: {
        note: 'all times in microseconds',
        'shop.orders': { total: { time: 9_000_000, count: 3000 }, queries: { time: 1, count: 2000 }, getmore: { time: 1, count: 10 }, insert: { time: 1, count: 900 }, update: { time: 1, count: 80 }, remove: { time: 1, count: 10 } },
        'shop.customers': { total: { time: 1_000_000, count: 500 }, queries: { time: 1, count: 500 } },
        'shop.changelog': { total: { time: 99_000_000, count: 1 } },
        'reports.daily': { total: { time: 500_000_000, count: 1 } },
      },
    };
    const server: FakeServer = {
      collections: [{ name: 'orders', type: 'collection' }, { name: 'customers', type: 'collection' }, { name: 'paid', type: 'view' }],
      collStats: { orders: { totalSize: 5_000_000, count: 120_000, storageSize: 1, totalIndexSize: 1 }, customers: { storageSize: 700_000, totalIndexSize: 300_000, count: 9000 } },
      command: (cmd) => ('top' in cmd ? top : connections(10, 800)),
    };
    const r = await run(performanceBaseline, await context({ production: server }));
    expect(r.status).toBe('pass');
    expect(r.summary).toMatch(/^Saved the opcounters, the 2 busiest collection\(s\) by total time and the sizes of the 2 largest collection\(s\) to baseline-shop-\d{8}T\d{6}\.json\.$/);
    expect(r.evidence!.tables![0]!.rows).toEqual([
      ['shop.orders', '3000', '9000.0', '3.00', '2010', '990'],
      ['shop.customers', '500', '1000.0', '2.00', '500', '0'],
    ]);
    expect(r.evidence!.tables![1]!.rows).toEqual([['orders', '4.8 MB', '120000'], ['customers', '977 kB', '9000']]);
    const saved = JSON.parse(await fs.readFile(r.evidence!.files![0]!, 'utf8'));
    expect(saved).toMatchObject({ engine: 'mongodb', database: 'shop', uptimeSeconds: 7200, opcounters: { insert: 10, query: 20, command: 600 }, collectionActivityMissing: null });
    expect(saved.tables.map((t: { name: string }) => t.name)).toEqual(['orders', 'customers']);

    const refused = await run(performanceBaseline, await context({ production: { ...server, command: (cmd) => ('top' in cmd ? Object.assign(new Error('not authorized on admin to execute command { top: 1 }'), { codeName: 'Unauthorized' }) : connections(10, 800)) } }));
    expect(refused.status).toBe('fail');
    expect(refused.summary).toMatch(/^Collection sizes and opcounters saved, but no per-collection timing baseline: the user may not run the top command/);
    expect(refused.summary).toContain('grantRolesToUser("dba", [{ role: "clusterMonitor", db: "admin" }])');
    expect(JSON.parse(await fs.readFile(refused.evidence!.files![0]!, 'utf8')).collectionActivity).toBeNull();
  });

  it('staging schema: identical collections pass; an index that differs on staging is named in the diff, with each side', async () => {
    const collections = [{ name: 'customers', type: 'collection', options: {} }, { name: 'changelog', type: 'collection', options: {} }];
    const indexes = { customers: [{ v: 2, key: { _id: 1 }, name: '_id_' }, { v: 2, key: { email: 1 }, name: 'email_1', unique: true }] };
    const changelog = [{ fileName: '20240101000000-customers.js', appliedAt: new Date() }, { fileName: '20240102000000-orders.js', appliedAt: new Date() }];
    const same = await run(stagingSchema, await context({ production: { collections, indexes, changelog }, staging: { collections, indexes: { customers: [...indexes.customers].reverse() }, changelog } }));
    expect(same.status).toBe('pass');
    expect(same.evidence!.facts![0]![1]).toMatch(/^3 objects, fingerprint [0-9a-f]{16}, migration version 20240102000000$/);
    const differs = await run(stagingSchema, await context({ production: { collections, indexes, changelog }, staging: { collections, indexes: { customers: [indexes.customers[0]!, { v: 2, key: { email: 1 }, name: 'email_1' }] } } }));
    expect(differs.status).toBe('fail');
    expect(differs.summary).toBe('1 object(s) differ: 0 only in production, 0 only in staging, 1 changed.');
    expect(differs.evidence!.text).toBe('Schema differences (- only in production, + only in staging, ~ different):\n~ index customers.email_1:\n    production: {"email":1} unique\n    staging: {"email":1}');
    expect(differs.evidence!.facts![1]![1]).toMatch(/migration version none$/);
  });
});

// The migration runner on a live MongoDB with migrate-mongo sets: each test gets a database of its
// own, runs the set through the same entry points as the CLI and the cockpit (runner.ts), and checks
// what the server really holds afterwards: collections, validators, indexes, documents, and the
// changelog exactly as migrate-mongo keeps it.
//
// There is no MongoDB among the test servers the global setup starts: set FLIGHTDECK_TEST_MONGODB_URL
// (mongodb://user:password@host:27017/admin?authSource=admin, a user that may create and drop
// databases) to run these. Without it they are registered as skipped, with the reason in the name.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FlightdeckError } from '../../shared/errors';
import type { FailureRecord } from '../../shared/migrations';
import type { Profile } from '../../shared/profile';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { profileFromUrl } from '../../main/connections/url';
import { readJournal } from '../../main/journal/run-journal';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { forceVersion, migrationStatus, runMigrations, type RunAction, type RunOptions } from '../../main/migrations/runner';
import { writeSet } from '../support/migration-dbs';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });
const journalDir = path.join(os.tmpdir(), `fd-journal-mongo-${process.pid}`);
const fixtures = path.resolve(import.meta.dirname, '../fixtures/migrations');
const bookkeeping = new Set(['changelog', 'changelog_lock', 'flightdeck_migrations', 'flightdeck_migration_steps', 'flightdeck_lock']);

async function caught(p: Promise<unknown>): Promise<FlightdeckError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('migration runner on MongoDB', () => {
  const url = process.env.FLIGHTDECK_TEST_MONGODB_URL;
  if (!url) {
    describe.skip('mongodb: not available (set FLIGHTDECK_TEST_MONGODB_URL to run these against a live server)', () => {
      it('takes a realistic migrate-mongo set up, down to zero and up again, with the same collections, validators and indexes each way', () => undefined);
      it('a migration that throws half-way leaves a record, refuses the next run, and force repairs it', () => undefined);
      it('two runners at once: the second waits, then names the run holding the lock; a migrate-mongo lock is waited for too', () => undefined);
      it('reports drift when an applied file is edited, but not for a change of line endings', () => undefined);
      it('takes over a database migrate-mongo migrated, keeping its changelog format', () => undefined);
      it('refuses before anything runs: a syntax error in a later file, a down without a down function', () => undefined);
      it('cancelling lets the running migration finish, then stops before the next', () => undefined);
    });
    return;
  }

  const { profile: base, password } = profileFromUrl(url, { id: 'mongo-migrate', environment: 'staging' });
  const admin = new MongoClient(url);
  const dbs: { name: string; db: Db }[] = [];
  const opened = new Set<OpenConnection>();

  afterEach(async () => {
    await Promise.all([...opened].map((c) => c.close()));
    opened.clear();
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.db.dropDatabase().catch(() => undefined)));
    await admin.close();
    await fs.rm(journalDir, { recursive: true, force: true });
  });

  interface TestDb {
    name: string;
    db: Db;
    open(): Promise<OpenConnection>;
  }

  /** A database of its own, reached as the runner reaches it (role migration, no statement timeout). */
  function testDb(): TestDb {
    const name = `fdmig_${randomBytes(4).toString('hex')}`;
    // The user authenticates where the URL says, whatever database the test works in.
    const profile: Profile = { ...base, id: name, name, database: name, mongo: { ...base.mongo, authSource: base.mongo?.authSource ?? (base.database || 'admin') } };
    const db = admin.db(name);
    dbs.push({ name, db });
    return {
      name,
      db,
      open: async () => {
        const conn = await connectProfile(profile, { dbPassword: password }, { hostKeys, role: 'migration', poolSize: 2, lockTimeoutMs: 200, statementTimeoutMs: 0 });
        opened.add(conn);
        return conn;
      },
    };
  }

  async function run(d: TestDb, dir: string, action: RunAction, opts: Partial<RunOptions> = {}) {
    const conn = await d.open();
    try {
      return await runMigrations(conn, await readMigrationSet(dir), action, { journalDir, lockTimeoutMs: 200, ...opts });
    } finally {
      await conn.close();
    }
  }
  async function status(d: TestDb, dir: string) {
    const conn = await d.open();
    try {
      return await migrationStatus(conn, await readMigrationSet(dir));
    } finally {
      await conn.close();
    }
  }
  async function force(d: TestDb, dir: string, version: number) {
    const conn = await d.open();
    try {
      return await forceVersion(conn, await readMigrationSet(dir), version, { journalDir });
    } finally {
      await conn.close();
    }
  }

  /** The application's collections as the server has them: validator, indexes, document count. */
  async function shape(db: Db) {
    const infos = (await db.listCollections({}, { nameOnly: false }).toArray()).filter((c) => !bookkeeping.has(c.name) && !c.name.startsWith('system.'));
    const out = [];
    for (const c of infos.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const indexes = (await db.collection(c.name).indexes()).map((i) => ({ name: i.name, key: i.key, unique: i.unique ?? false })).sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1));
      const options = (c as { options?: { validator?: unknown; validationLevel?: string } }).options ?? {};
      out.push({ name: c.name, validator: options.validator ?? null, validationLevel: options.validationLevel ?? null, indexes, documents: await db.collection(c.name).countDocuments() });
    }
    return out;
  }

  it('takes a realistic migrate-mongo set up, down to zero and up again, with the same collections, validators and indexes each way', { timeout: 120_000 }, async () => {
    const d = testDb();
    const dir = path.join(fixtures, 'mongo-shop');
    const set = await readMigrationSet(dir);
    expect(set.format).toBe('migrate-mongo');
    expect(set.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(set.migrations).toHaveLength(6);
    const versions = set.migrations.map((m) => m.version);
    expect(await shape(d.db)).toEqual([]);

    const up = await run(d, dir, { kind: 'up' });
    expect(up.steps.map((s) => [s.version, s.direction])).toEqual(versions.map((v) => [v, 'up']));
    expect(up).toMatchObject({ fromVersion: null, toVersion: versions[5] });
    const once = await shape(d.db);
    expect(once.map((c) => c.name)).toEqual(['customers', 'purchases']);
    const customers = once.find((c) => c.name === 'customers')!;
    expect(customers.validator).toMatchObject({ $jsonSchema: { required: ['email', 'name', 'tier'] } });
    expect(customers.indexes.map((i) => i.name)).toEqual(['_id_', 'customers_email_unique']);
    expect(customers.indexes.find((i) => i.name === 'customers_email_unique')!.unique).toBe(true);
    expect(once.find((c) => c.name === 'purchases')!.indexes.map((i) => i.name)).toEqual(['_id_', 'orders_customer_placed', 'purchases_status_placed']);
    expect(await d.db.collection('purchases').countDocuments({ status: 'placed', statusBackfilled: true })).toBe(2);
    expect(await d.db.collection('customers').countDocuments({ tier: 'standard' })).toBe(2);
    // The validator is the server's, not decoration: a customer without a tier is refused.
    await expect(d.db.collection('customers').insertOne({ email: 'x@example.com', name: 'X' })).rejects.toMatchObject({ code: 121 });

    // The changelog is exactly migrate-mongo's: one entry per file, one block for the run.
    const changelog = await d.db.collection('changelog').find({}).sort({ fileName: 1 }).toArray();
    expect(changelog.map((e) => e.fileName)).toEqual(set.migrations.map((m) => m.up!.file));
    for (const e of changelog) {
      expect(Object.keys(e).sort()).toEqual(['_id', 'appliedAt', 'fileName', 'migrationBlock']);
      expect(e.appliedAt).toBeInstanceOf(Date);
      expect(e.migrationBlock).toBe(changelog[0]!.migrationBlock);
    }
    const s1 = await status(d, dir);
    expect(s1).toMatchObject({ engine: 'mongodb', version: versions[5], dirty: false, failure: null, pending: [], drift: [], unknownApplied: [] });
    expect(s1.applied.map((a) => a.version)).toEqual(versions);
    expect(s1.applied.every((a) => a.checksum !== null && a.durationMs !== null)).toBe(true);

    const journal = await readJournal(up.journalFile);
    expect(journal.map((j) => j.type)).toEqual(['run-start', 'runner-lock', 'plan', ...versions.flatMap(() => ['step-start', 'step-done']), 'run-done']);

    // One step down, then the rest: each down undoes its up.
    const one = await run(d, dir, { kind: 'down', steps: 1 });
    expect(one).toMatchObject({ fromVersion: versions[5], toVersion: versions[4] });
    expect((await shape(d.db)).find((c) => c.name === 'customers')!.validator).toMatchObject({ $jsonSchema: { required: ['email', 'name'] } });
    const down = await run(d, dir, { kind: 'goto', version: 0 });
    expect(down.steps.map((s) => s.version)).toEqual(versions.slice(0, 5).reverse());
    expect(down.toVersion).toBeNull();
    expect(await shape(d.db)).toEqual([]);
    expect(await d.db.collection('changelog').countDocuments()).toBe(0);
    expect(await d.db.collection('flightdeck_migrations').countDocuments()).toBe(0);

    const again = await run(d, dir, { kind: 'up' });
    expect(again.steps).toHaveLength(6);
    expect(await shape(d.db)).toEqual(once);
    expect(await status(d, dir)).toMatchObject({ version: versions[5], dirty: false, pending: [], drift: [] });
    // goto a middle version goes down from there, and up again.
    await run(d, dir, { kind: 'goto', version: versions[2]! });
    expect((await status(d, dir)).pending.map((p) => p.version)).toEqual(versions.slice(3));
    expect((await shape(d.db)).map((c) => c.name)).toEqual(['customers', 'orders']);
    await run(d, dir, { kind: 'up', steps: 2 });
    expect((await status(d, dir)).version).toBe(versions[4]);
    // The lock is gone once a run ends.
    expect(await d.db.collection('flightdeck_lock').countDocuments()).toBe(0);
  });

  it('a migration that throws half-way leaves a record, refuses the next run, and force repairs it', async () => {
    const d = testDb();
    const dir = await writeSet({
      '20240301000000-items.js': `module.exports = {
  async up(db) {
    await db.createCollection('items', { validator: { $jsonSchema: { bsonType: 'object', required: ['sku'], properties: { sku: { bsonType: 'string' } } } } });
    await db.collection('items').insertMany([{ sku: 'a' }, { sku: 'b' }]);
  },
  async down(db) {
    await db.collection('items').drop();
  },
};
`,
      '20240302000000-qty.js': `module.exports = {
  async up(db) {
    await db.collection('items').updateMany({}, { $set: { qty: 1 } });
    await db.collection('items').insertOne({ sku: 42 });
    await db.collection('items').createIndex({ qty: 1 }, { name: 'items_qty' });
  },
  async down(db) {
    await db.collection('items').dropIndex('items_qty');
    await db.collection('items').updateMany({}, { $unset: { qty: '' } });
  },
};
`,
      '20240303000000-later.js': `module.exports = {
  async up(db) { await db.collection('items').createIndex({ sku: 1 }, { name: 'items_sku' }); },
  async down(db) { await db.collection('items').dropIndex('items_sku'); },
};
`,
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_FAILED');
    expect(e.message).toContain('Migration 20240302000000 (up) failed at 20240302000000-qty.js:4');
    expect(e.message).toContain('the up function of 20240302000000-qty.js threw MongoServerError: Document failed validation');
    expect(e.message).toContain('MongoDB applies each operation as it runs');
    const record = e.details!.record as FailureRecord;
    expect(record).toMatchObject({ version: 20240302000000, direction: 'up', error: { code: 'DocumentValidationFailure' }, applied: [], notApplied: [], statement: { file: '20240302000000-qty.js', line: 4 } });
    expect(record.statement!.summary).toBe("await db.collection('items').insertOne({ sku: 42 });");
    expect(record.nextStep).toContain('`flightdeck migrate force 20240302000000`');
    expect(record.nextStep).toContain('`flightdeck migrate force 20240301000000`');
    // What the server holds: the updateMany before the failure is in effect, the index after it is not.
    expect(await d.db.collection('items').countDocuments({ qty: 1 })).toBe(2);
    expect((await d.db.collection('items').indexes()).map((i) => i.name)).toEqual(['_id_']);
    expect((await d.db.collection('changelog').find({}).toArray()).map((c) => c.fileName)).toEqual(['20240301000000-items.js']);
    const journal = await readJournal(e.details!.journal as string);
    expect(journal.map((j) => j.type).slice(-2)).toEqual(['step-failed', 'run-failed']);

    const s = await status(d, dir);
    expect(s).toMatchObject({ version: 20240301000000, dirty: true, pending: [{ version: 20240303000000 }] });
    expect(s.applied.map((a) => a.version)).toEqual([20240301000000]);
    expect(s.failure).toMatchObject({ version: 20240302000000, direction: 'up', statement: { line: 4 } });

    const dirty = await caught(run(d, dir, { kind: 'up' }));
    expect(dirty.code).toBe('MIGRATION_DIRTY');
    expect(dirty.message).toContain('20240302000000-qty.js:4');
    expect(dirty.hint).toBe(record.nextStep);
    expect(await d.db.collection('items').indexes()).toHaveLength(1);

    // The DBA finishes the migration's work by hand and declares it applied.
    await d.db.collection('items').createIndex({ qty: 1 }, { name: 'items_qty' });
    const forced = await force(d, dir, 20240302000000);
    expect(forced).toMatchObject({ previous: { version: 20240301000000, dirty: true }, version: 20240302000000, settledSteps: 1 });
    const after = await status(d, dir);
    expect(after).toMatchObject({ version: 20240302000000, dirty: false, failure: null, pending: [{ version: 20240303000000 }] });
    // Forced, not applied by Flightdeck: no checksum for it.
    expect(after.applied.find((a) => a.version === 20240302000000)).toMatchObject({ checksum: null, durationMs: null });
    expect(await d.db.collection('flightdeck_migration_steps').find({ version: 20240302000000 }).project({ _id: 0, status: 1, 'record.error.code': 1 }).toArray()).toEqual([{ status: 'forced', record: { error: { code: 'DocumentValidationFailure' } } }]);

    const rest = await run(d, dir, { kind: 'up' });
    expect(rest.steps.map((x) => x.version)).toEqual([20240303000000]);

    // force 0: the changelog says nothing is applied (the collections are the DBA's to drop).
    expect(await force(d, dir, 0)).toMatchObject({ version: null, settledSteps: 0 });
    expect(await d.db.collection('changelog').countDocuments()).toBe(0);
    expect(await status(d, dir)).toMatchObject({ version: null, dirty: false, applied: [] });
  });

  it('two runners at once: the second waits, then names the run holding the lock; a migrate-mongo lock is waited for too', async () => {
    const d = testDb();
    const dir = await writeSet({
      '20240401000000-slow.js': `module.exports = {
  async up(db) {
    await db.collection('slow').insertOne({ at: new Date() });
    await new Promise((r) => setTimeout(r, 3000));
  },
  async down(db) { await db.collection('slow').drop(); },
};
`,
    });
    const first = run(d, dir, { kind: 'up' });
    let holder: { owner: { runId: string; pid: number; host: string } } | null = null;
    for (let i = 0; i < 100 && !holder; i++) {
      holder = (await d.db.collection('flightdeck_lock').findOne({})) as typeof holder;
      if (!holder) await new Promise((r) => setTimeout(r, 50));
    }
    expect(holder).not.toBeNull();
    expect(holder!.owner).toMatchObject({ pid: process.pid, host: os.hostname() });
    const started = Date.now();
    const e = await caught(run(d, dir, { kind: 'up' }, { runnerLockWaitMs: 800 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(e.code).toBe('RUNNER_LOCKED');
    expect(e.message).toContain(`Flightdeck run ${holder!.owner.runId}, process ${process.pid} on ${os.hostname()}`);
    expect(e.details!.holder).toMatchObject({ tool: 'flightdeck', runId: holder!.owner.runId, pid: process.pid });
    expect((await first).toVersion).toBe(20240401000000);
    const second = await run(d, dir, { kind: 'up' }, { runnerLockWaitMs: 10_000 });
    expect(second.steps).toEqual([]);

    // migrate-mongo 10+ holds its lock as a document in changelog_lock while it runs.
    const createdAt = new Date();
    await d.db.collection('changelog_lock').insertOne({ createdAt });
    const mm = await caught(run(d, dir, { kind: 'down', steps: 1 }, { runnerLockWaitMs: 500 }));
    expect(mm.code).toBe('RUNNER_LOCKED');
    expect(mm.message).toContain(`migrate-mongo's lock in changelog_lock, created ${createdAt.toISOString()}`);
    expect(mm.hint).toContain('db.changelog_lock.deleteMany({})');
    expect(await d.db.collection('changelog').countDocuments()).toBe(1);
    await d.db.collection('changelog_lock').deleteMany({});
    expect((await run(d, dir, { kind: 'down', steps: 1 })).toVersion).toBeNull();
  });

  it('reports drift when an applied file is edited, but not for a change of line endings', async () => {
    const d = testDb();
    const dir = await writeSet({ '20240501000000-a.js': "module.exports = {\n  async up(db) { await db.createCollection('a'); },\n  async down(db) { await db.collection('a').drop(); },\n};\n" });
    await run(d, dir, { kind: 'up' });
    const file = path.join(dir, '20240501000000-a.js');
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace(/\n/g, '\r\n'));
    expect((await status(d, dir)).drift).toEqual([]);
    await fs.writeFile(file, text.replace("createCollection('a')", "createCollection('a', { capped: true, size: 4096 })"));
    const s = await status(d, dir);
    expect(s.drift).toMatchObject([{ version: 20240501000000, file: '20240501000000-a.js' }]);
    // A run goes on, with the drift as a warning.
    const r = await run(d, dir, { kind: 'up' });
    expect(r.warnings.join('\n')).toContain('20240501000000-a.js was edited after it was applied');
  });

  it('takes over a database migrate-mongo migrated, keeping its changelog format', async () => {
    const d = testDb();
    const files = {
      '20240601000000-first.js': "module.exports = { async up(db) { await db.createCollection('first'); }, async down(db) { await db.collection('first').drop(); } };\n",
      '20240602000000-second.js': "module.exports = { async up(db) { await db.createCollection('second'); }, async down(db) { await db.collection('second').drop(); } };\n",
      '20240603000000-third.js': "module.exports = { async up(db) { await db.createCollection('third'); }, async down(db) { await db.collection('third').drop(); } };\n",
    };
    const dir = await writeSet(files);
    // migrate-mongo ran the first two with useFileHash on (and one file since removed from the folder).
    const hash = (t: string) => createHash('sha256').update(t).digest('hex');
    await d.db.createCollection('first');
    await d.db.createCollection('second');
    const block = Date.now() - 86_400_000;
    await d.db.collection('changelog').insertMany([
      { fileName: '20240101000000-retired.js', fileHash: 'f'.repeat(64), appliedAt: new Date(block), migrationBlock: block },
      { fileName: '20240601000000-first.js', fileHash: hash(files['20240601000000-first.js']), appliedAt: new Date(block), migrationBlock: block },
      { fileName: '20240602000000-second.js', fileHash: hash(files['20240602000000-second.js']), appliedAt: new Date(block), migrationBlock: block },
    ]);
    const s = await status(d, dir);
    expect(s).toMatchObject({ version: 20240602000000, dirty: false, pending: [{ version: 20240603000000 }], unknownApplied: [20240101000000], drift: [] });
    expect(s.applied.map((a) => [a.version, a.checksum])).toEqual([
      [20240601000000, null],
      [20240602000000, null],
    ]);
    const r = await run(d, dir, { kind: 'up' });
    expect(r.steps.map((x) => x.version)).toEqual([20240603000000]);
    // Written as migrate-mongo with useFileHash writes it, so migrate-mongo sees it as applied.
    const third = await d.db.collection('changelog').findOne({ fileName: '20240603000000-third.js' });
    expect(third).toMatchObject({ fileHash: hash(files['20240603000000-third.js']), appliedAt: expect.any(Date), migrationBlock: expect.any(Number) });
    expect(third!.migrationBlock).not.toBe(block);
    // A file migrate-mongo applied and someone edited since: drift by its own hash.
    await fs.writeFile(path.join(dir, '20240601000000-first.js'), `${files['20240601000000-first.js']}// edited\n`);
    expect((await status(d, dir)).drift).toMatchObject([{ version: 20240601000000, appliedChecksum: hash(files['20240601000000-first.js']) }]);
    // down reverts from the newest file in the folder; the retired entry stays.
    await run(d, dir, { kind: 'down', steps: 2 });
    expect((await d.db.collection('changelog').find({}).sort({ fileName: 1 }).toArray()).map((e) => e.fileName)).toEqual(['20240101000000-retired.js', '20240601000000-first.js']);
  });

  it('refuses before anything runs: a syntax error in a later file, a down without a down function', async () => {
    const d = testDb();
    const dir = await writeSet({
      '20240701000000-a.js': "module.exports = { async up(db) { await db.createCollection('a'); } };\n",
      '20240702000000-b.mjs': "export async function up(db) {\n  await db.createCollection('b');\n  await db.collection('b').insertOne({ x: });\n}\n",
    });
    const e = await caught(run(d, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toMatch(/^20240702000000-b\.mjs:3(:\d+)?: /);
    expect((await d.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !bookkeeping.has(n))).toEqual([]);
    expect(await d.db.collection('changelog').countDocuments()).toBe(0);

    await run(d, dir, { kind: 'up', steps: 1 });
    const noDown = await caught(run(d, dir, { kind: 'down', steps: 1 }));
    expect(noDown.code).toBe('MIGRATION_NOT_FOUND');
    expect(noDown.message).toBe('Cannot go down: 20240701000000-a.js has no down function. Nothing was applied.');
    expect(await d.db.collection('changelog').countDocuments()).toBe(1);
    expect(await status(d, dir)).toMatchObject({ version: 20240701000000, dirty: false });
  });

  it('cancelling lets the running migration finish, then stops before the next', async () => {
    const d = testDb();
    const dir = await writeSet({
      '20240801000000-slow.js': "module.exports = { async up(db) { await new Promise((r) => setTimeout(r, 1500)); await db.createCollection('slow'); }, async down(db) { await db.collection('slow').drop(); } };\n",
      '20240802000000-next.js': "module.exports = { async up(db) { await db.createCollection('next'); }, async down(db) { await db.collection('next').drop(); } };\n",
    });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 500);
    const e = await caught(run(d, dir, { kind: 'up' }, { signal: abort.signal }));
    expect(e.code).toBe('CANCELLED');
    expect(e.message).toContain('Cancelled before migration 20240802000000');
    expect((await d.db.collection('changelog').find({}).toArray()).map((c) => c.fileName)).toEqual(['20240801000000-slow.js']);
    expect(await status(d, dir)).toMatchObject({ version: 20240801000000, dirty: false, pending: [{ version: 20240802000000 }] });
  });
});

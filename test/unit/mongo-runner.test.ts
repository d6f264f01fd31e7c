// The MongoDB runner's own logic without a server: planning from the changelog, the bookkeeping
// after success, failure and force, the dirty refusal, the lock between two runners and the journal.
// The database is an in-memory stand-in for the few driver calls the runner makes (find/sort,
// insert with a unique _id, update, delete); what MongoDB itself does with a migration's operations
// is covered by test/integration/migrate-mongodb.test.ts against a live server.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlightdeckError } from '../../shared/errors';
import type { FailureRecord } from '../../shared/migrations';
import type { Profile } from '../../shared/profile';
import type { OpenConnection } from '../../main/connections/connect';
import { readJournal } from '../../main/journal/run-journal';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { planMongoSteps } from '../../main/migrations/mongo-runner';
import { forceVersion, migrationStatus, runMigrations, type RunAction, type RunOptions } from '../../main/migrations/runner';
import { writeSet } from '../support/migration-dbs';

const journalDir = path.join(os.tmpdir(), `fd-journal-mongo-unit-${process.pid}`);
afterAll(async () => {
  await fs.rm(journalDir, { recursive: true, force: true });
});

type Doc = Record<string, unknown>;

function get(doc: Doc, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Doc)[k] : undefined), doc);
}
function cmp(a: unknown, b: unknown): number {
  const n = (v: unknown) => (v instanceof Date ? v.getTime() : v);
  const x = n(a) as number;
  const y = n(b) as number;
  return x < y ? -1 : x > y ? 1 : 0;
}
function matches(doc: Doc, filter: Doc): boolean {
  return Object.entries(filter).every(([k, cond]) => {
    const v = get(doc, k);
    if (cond && typeof cond === 'object' && !(cond instanceof Date) && !Array.isArray(cond)) {
      return Object.entries(cond as Doc).every(([op, arg]) => {
        if (op === '$in') return (arg as unknown[]).some((a) => cmp(a, v) === 0);
        if (op === '$lt') return v !== undefined && cmp(v, arg) < 0;
        if (op === '$gt') return v !== undefined && cmp(v, arg) > 0;
        if (op === '$exists') return (v !== undefined) === arg;
        throw new Error(`fake: no ${op}`);
      });
    }
    return cmp(v, cond) === 0;
  });
}

let nextId = 1;
class FakeCursor {
  private order: [string, number][] = [];
  private max = Infinity;
  constructor(private readonly docs: Doc[]) {}
  sort(spec: Record<string, number>) {
    this.order = Object.entries(spec);
    return this;
  }
  limit(n: number) {
    this.max = n;
    return this;
  }
  async toArray() {
    const out = [...this.docs].sort((a, b) => {
      for (const [k, dir] of this.order) {
        const c = cmp(a[k], b[k]);
        if (c) return c * dir;
      }
      return 0;
    });
    return out.slice(0, this.max).map((d) => structuredClone(d));
  }
  async next() {
    return (await this.limit(1).toArray())[0] ?? null;
  }
}

class FakeCollection {
  docs: Doc[] = [];
  find(filter: Doc = {}) {
    return new FakeCursor(this.docs.filter((d) => matches(d, filter)));
  }
  async findOne(filter: Doc = {}) {
    return this.find(filter).next();
  }
  async insertOne(doc: Doc) {
    const d = { _id: nextId++, ...structuredClone(doc) };
    if (this.docs.some((x) => cmp(x._id, d._id) === 0)) throw Object.assign(new Error('E11000 duplicate key error'), { name: 'MongoServerError', code: 11000 });
    this.docs.push(d);
    return { insertedId: d._id };
  }
  async insertMany(docs: Doc[]) {
    for (const d of docs) await this.insertOne(d);
  }
  private apply(d: Doc, update: Doc) {
    for (const [k, v] of Object.entries((update.$set ?? {}) as Doc)) d[k] = structuredClone(v);
  }
  async updateOne(filter: Doc, update: Doc) {
    const d = this.docs.find((x) => matches(x, filter));
    if (d) this.apply(d, update);
    return { matchedCount: d ? 1 : 0, modifiedCount: d ? 1 : 0 };
  }
  async updateMany(filter: Doc, update: Doc) {
    const ds = this.docs.filter((x) => matches(x, filter));
    for (const d of ds) this.apply(d, update);
    return { matchedCount: ds.length, modifiedCount: ds.length };
  }
  async findOneAndUpdate(filter: Doc, update: Doc) {
    const d = this.docs.find((x) => matches(x, filter));
    if (!d) return null;
    const before = structuredClone(d);
    this.apply(d, update);
    return before;
  }
  async replaceOne(filter: Doc, doc: Doc, opts: { upsert?: boolean } = {}) {
    const i = this.docs.findIndex((x) => matches(x, filter));
    if (i >= 0) this.docs[i] = { _id: this.docs[i]!._id, ...structuredClone(doc) };
    else if (opts.upsert) this.docs.push({ ...filter, ...structuredClone(doc) });
  }
  async deleteOne(filter: Doc) {
    const i = this.docs.findIndex((x) => matches(x, filter));
    if (i >= 0) this.docs.splice(i, 1);
  }
  async deleteMany(filter: Doc) {
    this.docs = this.docs.filter((x) => !matches(x, filter));
  }
  async createIndex() {
    return 'ok';
  }
}

class FakeDb {
  readonly collections = new Map<string, FakeCollection>();
  constructor(readonly databaseName: string) {}
  collection(name: string) {
    if (!this.collections.has(name)) this.collections.set(name, new FakeCollection());
    return this.collections.get(name)!;
  }
  async command(cmd: Doc) {
    if (cmd.hello) return { ok: 1, localTime: new Date() };
    throw new Error('fake: unknown command');
  }
  docs(name: string) {
    return this.collection(name).docs;
  }
}

function connectionTo(db: FakeDb): OpenConnection {
  const profile: Profile = { id: 'fake', name: 'fake', engine: 'mongodb', environment: 'staging', host: 'fake', port: 27017, database: db.databaseName, user: 'app', tls: { mode: 'disable' }, connectTimeoutMs: 1000 };
  const session = { engine: 'mongodb' as const, mongo: () => ({ client: { fake: true }, db }), inspect: async () => ({}) as never, close: async () => undefined };
  return { profile, session: session as unknown as OpenConnection['session'], route: { address: 'fake:27017' }, close: async () => undefined };
}

const run = async (db: FakeDb, dir: string, action: RunAction, opts: Partial<RunOptions> = {}) => runMigrations(connectionTo(db), await readMigrationSet(dir), action, { journalDir, lockTimeoutMs: 200, ...opts });
const status = async (db: FakeDb, dir: string) => migrationStatus(connectionTo(db), await readMigrationSet(dir));
const force = async (db: FakeDb, dir: string, v: number) => forceVersion(connectionTo(db), await readMigrationSet(dir), v, { journalDir });

async function caught(p: Promise<unknown>): Promise<FlightdeckError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** A migration that writes { step } into `log` on up and removes it on down. */
const logging = (name: string) => `module.exports = {\n  async up(db) { await db.collection('log').insertOne({ step: '${name}' }); },\n  async down(db) { await db.collection('log').deleteMany({ step: '${name}' }); },\n};\n`;

describe('the MongoDB runner, on an in-memory stand-in', () => {
  it('plans from the changelog: pending files in order (late ones too), downs from the newest, goto both ways', async () => {
    const dir = await writeSet({ '10-a.js': logging('a'), '20-b.js': logging('b'), '30-c.js': logging('c'), '40-d.js': logging('d') });
    const set = await readMigrationSet(dir);
    const plan = (applied: string[], a: RunAction) => planMongoSteps(set, new Set(applied), a).map((p) => `${p.direction} ${p.migration.version} ${p.versionBefore ?? 0}->${p.versionAfter ?? 0}`);
    expect(plan([], { kind: 'up' })).toEqual(['up 10 0->10', 'up 20 10->20', 'up 30 20->30', 'up 40 30->40']);
    expect(plan(['10-a.js', '30-c.js'], { kind: 'up', steps: 1 })).toEqual(['up 20 30->30']);
    expect(plan(['10-a.js', '20-b.js', '30-c.js'], { kind: 'down', steps: 2 })).toEqual(['down 30 30->20', 'down 20 20->10']);
    expect(plan(['10-a.js', '20-b.js'], { kind: 'down', steps: 'all' })).toEqual(['down 20 20->10', 'down 10 10->0']);
    expect(plan(['10-a.js', '30-c.js', '40-d.js'], { kind: 'goto', version: 20 })).toEqual(['down 40 40->30', 'down 30 30->10', 'up 20 10->20']);
    expect(plan(['10-a.js'], { kind: 'goto', version: 0 })).toEqual(['down 10 10->0']);
    expect(() => plan([], { kind: 'goto', version: 25 })).toThrow(/Version 25 is not in/);
  });

  it('up, status, down and up again keep the changelog as migrate-mongo does, with Flightdeck\'s own records beside it', async () => {
    const db = new FakeDb('shop');
    const dir = await writeSet({ '20240101000000-a.js': logging('a'), '20240102000000-b.mjs': "export const up = async (db) => { await db.collection('log').insertOne({ step: 'b' }); };\nexport const down = async (db) => { await db.collection('log').deleteMany({ step: 'b' }); };\n", '20240103000000-c.cjs': logging('c') });
    const up = await run(db, dir, { kind: 'up' });
    expect(up).toMatchObject({ fromVersion: null, toVersion: 20240103000000 });
    expect(up.steps.map((s) => [s.version, s.direction, s.statements, s.lockRetries])).toEqual([
      [20240101000000, 'up', 1, 0],
      [20240102000000, 'up', 1, 0],
      [20240103000000, 'up', 1, 0],
    ]);
    expect(db.docs('log').map((d) => d.step)).toEqual(['a', 'b', 'c']);
    const changelog = db.docs('changelog');
    expect(changelog.map((e) => e.fileName)).toEqual(['20240101000000-a.js', '20240102000000-b.mjs', '20240103000000-c.cjs']);
    expect(changelog.every((e) => Object.keys(e).sort().join() === '_id,appliedAt,fileName,migrationBlock' && e.migrationBlock === changelog[0]!.migrationBlock)).toBe(true);
    expect(db.docs('flightdeck_migrations').map((d) => [d._id, d.name, typeof d.checksum, d.runId])).toEqual([
      [20240101000000, '20240101000000-a.js', 'string', up.runId],
      [20240102000000, '20240102000000-b.mjs', 'string', up.runId],
      [20240103000000, '20240103000000-c.cjs', 'string', up.runId],
    ]);
    expect(db.docs('flightdeck_migration_steps').map((s) => s.status)).toEqual(['done', 'done', 'done']);
    expect(db.docs('flightdeck_lock')).toEqual([]);
    expect((await readJournal(up.journalFile)).map((j) => j.type)).toEqual(['run-start', 'runner-lock', 'plan', 'step-start', 'step-done', 'step-start', 'step-done', 'step-start', 'step-done', 'run-done']);

    const s = await status(db, dir);
    expect(s).toMatchObject({ engine: 'mongodb', version: 20240103000000, dirty: false, failure: null, pending: [], drift: [], unknownApplied: [], flyway: null });
    expect(s.applied.every((a) => a.checksum !== null && a.name !== null)).toBe(true);

    const down = await run(db, dir, { kind: 'down', steps: 2 });
    expect(down.steps.map((x) => [x.version, x.direction])).toEqual([
      [20240103000000, 'down'],
      [20240102000000, 'down'],
    ]);
    expect(down.toVersion).toBe(20240101000000);
    expect(db.docs('log').map((d) => d.step)).toEqual(['a']);
    expect(db.docs('changelog').map((e) => e.fileName)).toEqual(['20240101000000-a.js']);
    expect(db.docs('flightdeck_migrations').map((d) => d._id)).toEqual([20240101000000]);

    const again = await run(db, dir, { kind: 'up' });
    expect(again.steps).toHaveLength(2);
    // One block per run: the second run's entries share a block of their own.
    const blocks = new Set(db.docs('changelog').map((e) => e.migrationBlock));
    expect(blocks.size).toBe(2);
  });

  it('a function that throws leaves its step failed with the record, makes the database dirty, and force settles it', async () => {
    const db = new FakeDb('shop');
    const dir = await writeSet({
      '20240201000000-a.js': logging('a'),
      '20240202000000-b.js': "module.exports = {\n  async up(db) {\n    await db.collection('log').insertOne({ step: 'b1' });\n    await db.collection('log').renameTo('x');\n  },\n  async down(db) {},\n};\n",
      '20240203000000-c.js': logging('c'),
    });
    const e = await caught(run(db, dir, { kind: 'up' }));
    expect(e.code).toBe('MIGRATION_FAILED');
    expect(e.message).toMatch(/^Migration 20240202000000 \(up\) failed at 20240202000000-b\.js:4: the up function of 20240202000000-b\.js threw TypeError: .*renameTo is not a function at line 4 \(await db\.collection\('log'\)\.renameTo\('x'\);\) after \d+ ms; MongoDB applies each operation as it runs, so what the function did before that is in effect\.$/);
    const record = e.details!.record as FailureRecord;
    expect(record).toMatchObject({ version: 20240202000000, direction: 'up', applied: [], notApplied: [], error: { code: 'TypeError' }, statement: { file: '20240202000000-b.js', line: 4, index: 0 } });
    expect(record.nextStep).toBe(
      'Check what the up function of 20240202000000-b.js changed. Then either finish its work by hand and run `flightdeck migrate force 20240202000000`, or undo what it did and run `flightdeck migrate force 20240201000000` (force V records exactly the files up to V as applied in the changelog). Then continue with `flightdeck migrate up`.',
    );
    expect(db.docs('log').map((d) => d.step)).toEqual(['a', 'b1']);
    expect(db.docs('changelog').map((c) => c.fileName)).toEqual(['20240201000000-a.js']);
    expect(db.docs('flightdeck_migration_steps').map((s) => s.status)).toEqual(['done', 'failed']);
    expect(db.docs('flightdeck_lock')).toEqual([]);
    expect((await readJournal(e.details!.journal as string)).map((j) => j.type).slice(-2)).toEqual(['step-failed', 'run-failed']);

    const s = await status(db, dir);
    expect(s).toMatchObject({ version: 20240201000000, dirty: true, failure: record, applied: [{ version: 20240201000000 }], pending: [{ version: 20240203000000 }] });
    const dirty = await caught(run(db, dir, { kind: 'up' }));
    expect(dirty.code).toBe('MIGRATION_DIRTY');
    expect(dirty.message).toContain('the up function of migration 20240202000000 failed at 20240202000000-b.js:4');
    expect(dirty.hint).toBe(record.nextStep);
    expect(dirty.details).toEqual({ failure: record });
    expect(db.docs('log')).toHaveLength(2);

    const forced = await force(db, dir, 20240202000000);
    expect(forced).toMatchObject({ previous: { version: 20240201000000, dirty: true }, version: 20240202000000, settledSteps: 1 });
    expect(db.docs('changelog').map((c) => c.fileName)).toEqual(['20240201000000-a.js', '20240202000000-b.js']);
    expect(db.docs('flightdeck_migration_steps').map((s) => s.status)).toEqual(['done', 'forced']);
    const after = await status(db, dir);
    expect(after).toMatchObject({ version: 20240202000000, dirty: false, failure: null, pending: [{ version: 20240203000000 }] });
    expect(after.applied.find((a) => a.version === 20240202000000)).toMatchObject({ checksum: null });
    expect((await run(db, dir, { kind: 'up' })).steps.map((x) => x.version)).toEqual([20240203000000]);

    // Force back to the first version: entries above it go, the journal keeps them.
    const back = await force(db, dir, 20240201000000);
    expect(db.docs('changelog').map((c) => c.fileName)).toEqual(['20240201000000-a.js']);
    expect(db.docs('flightdeck_migrations').map((d) => d._id)).toEqual([20240201000000]);
    const plan = (await readJournal(back.journalFile)).find((j) => j.type === 'force-plan')!;
    expect((plan.remove as { fileName: string }[]).map((r) => r.fileName)).toEqual(['20240202000000-b.js', '20240203000000-c.js']);
  });

  it('a step left running by a crash reads as interrupted, and says whether the changelog has it', async () => {
    const db = new FakeDb('shop');
    const dir = await writeSet({ '20240301000000-a.js': logging('a') });
    await db.collection('flightdeck_migration_steps').insertOne({ runId: 'migrate-x', version: 20240301000000, direction: 'up', file: '20240301000000-a.js', status: 'running', statementsApplied: 0, startedAt: new Date('2024-03-01T00:00:00Z'), finishedAt: null, record: null });
    const s = await status(db, dir);
    expect(s.dirty).toBe(true);
    expect(s.failure).toMatchObject({ runId: 'migrate-x', error: { code: 'INTERRUPTED' }, failedAt: '2024-03-01T00:00:00.000Z' });
    expect(s.failure!.nextStep).toContain('part of the up function may be in effect');
    await db.collection('changelog').insertOne({ fileName: '20240301000000-a.js', appliedAt: new Date() });
    expect((await status(db, dir)).failure!.nextStep).toContain('The changelog says the up of 20240301000000-a.js completed');
  });

  it('two runners: the second waits, then names the first; an expired lock is taken over; a migrate-mongo lock is waited for', async () => {
    const db = new FakeDb('shop');
    const dir = await writeSet({ '20240401000000-slow.js': "module.exports = { async up(db) { await new Promise((r) => setTimeout(r, 600)); await db.collection('log').insertOne({ step: 'slow' }); }, async down() {} };\n" });
    const first = run(db, dir, { kind: 'up' });
    while (db.docs('flightdeck_lock').length === 0) await new Promise((r) => setTimeout(r, 10));
    const owner = db.docs('flightdeck_lock')[0]!.owner as { runId: string };
    const e = await caught(run(db, dir, { kind: 'up' }, { runnerLockWaitMs: 200 }));
    expect(e.code).toBe('RUNNER_LOCKED');
    expect(e.message).toContain(`Flightdeck run ${owner.runId}, process ${process.pid} on ${os.hostname()}`);
    expect(e.details!.holder).toMatchObject({ tool: 'flightdeck', runId: owner.runId, pid: process.pid, host: os.hostname() });
    expect((await first).toVersion).toBe(20240401000000);
    expect(db.docs('flightdeck_lock')).toEqual([]);

    // A runner that died left its lock, which expired a minute ago.
    await db.collection('flightdeck_lock').insertOne({ _id: 'migrations:shop', owner: { tool: 'flightdeck', host: 'gone', pid: 1, runId: 'migrate-dead' }, since: new Date(Date.now() - 120_000), expiresAt: new Date(Date.now() - 60_000) });
    const took = await run(db, dir, { kind: 'down', steps: 1 }, { runnerLockWaitMs: 200 });
    expect(took.warnings.join('\n')).toContain('Took over the runner lock from Flightdeck run migrate-dead, process 1 on gone');

    await db.collection('changelog_lock').insertOne({ createdAt: new Date('2024-04-01T10:00:00Z') });
    const mm = await caught(run(db, dir, { kind: 'up' }, { runnerLockWaitMs: 200 }));
    expect(mm.message).toContain("migrate-mongo's lock in changelog_lock, created 2024-04-01T10:00:00.000Z");
    expect(db.docs('flightdeck_lock')).toEqual([]);
  });

  it('refuses before anything runs: a missing down, a SQL set, a file edited since it was read; cancel stops between migrations', async () => {
    const db = new FakeDb('shop');
    const dir = await writeSet({ '20240501000000-a.js': logging('a'), '20240502000000-no-down.js': "module.exports = { async up(db) { await db.collection('log').insertOne({ step: 'n' }); } };\n" });
    await run(db, dir, { kind: 'up' });
    const e = await caught(run(db, dir, { kind: 'down', steps: 'all' }));
    expect(e.code).toBe('MIGRATION_NOT_FOUND');
    expect(e.message).toBe('Cannot go down: 20240502000000-no-down.js has no down function. Nothing was applied.');
    expect(db.docs('log')).toHaveLength(2);

    const sql = await writeSet({ '1_a.up.sql': 'create table a (id int);\n', '1_a.down.sql': 'drop table a;\n' });
    expect((await caught(run(db, sql, { kind: 'up' }))).code).toBe('MIGRATION_SET_INVALID');

    const edited = await writeSet({ '20240601000000-a.js': logging('a') });
    const set = await readMigrationSet(edited);
    await fs.writeFile(path.join(edited, '20240601000000-a.js'), logging('changed'));
    const changed = await caught(runMigrations(connectionTo(new FakeDb('x')), set, { kind: 'up' }, { journalDir, lockTimeoutMs: 200 }));
    expect(changed.message).toBe('20240601000000-a.js changed while the run was being prepared. Nothing was applied.');

    const slow = await writeSet({ '20240701000000-slow.js': "module.exports = { async up(db) { await new Promise((r) => setTimeout(r, 300)); await db.collection('log').insertOne({ step: 'slow' }); } };\n", '20240702000000-next.js': logging('next') });
    const db2 = new FakeDb('x');
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const logs: string[] = [];
    const c = await caught(run(db2, slow, { kind: 'up' }, { signal: abort.signal, onLog: (_l, m) => logs.push(m) }));
    expect(c.code).toBe('CANCELLED');
    expect(c.message).toBe('Cancelled before migration 20240702000000; the newest applied version is 20240701000000, and the database is clean.');
    expect(logs.join('\n')).toContain('Cancel requested: the up function of 20240701000000-slow.js cannot be interrupted');
    expect(db2.docs('log').map((d) => d.step)).toEqual(['slow']);
    expect(db2.docs('changelog').map((d) => d.fileName)).toEqual(['20240701000000-slow.js']);
  });
});

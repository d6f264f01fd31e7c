// Phase 0 on a live MongoDB with a migrate-mongo set: it passes when all is well (the backup taken
// with mongodump --archive --gzip and read back, or, on a machine without the MongoDB Database
// Tools, a critical failure with the install hint), and each check fails for its real cause: an
// index that differs on staging is named in the diff, an operation running past the threshold
// blocks the window, a migration file without a down function stops it.
//
// There is no MongoDB among the test servers the global setup starts: set FLIGHTDECK_TEST_MONGODB_URL
// (mongodb://user:password@host:27017/admin?authSource=admin) to run these. The user must be able to
// create and drop databases and to read the server's state (serverStatus, top, $currentOp of every
// user: the clusterMonitor role, or root), and the server must allow server-side JavaScript (the
// long-running operation is a $where that sleeps). Without the variable they are registered as
// skipped, with the reason in the name.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../shared/checks';
import type { Profile } from '../../shared/profile';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { profileFromUrl } from '../../main/connections/url';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { runMigrations } from '../../main/migrations/runner';
import { defaultPhase0Settings, type Phase0Context, type Phase0Settings } from '../../main/phases/phase0/context';
import { runPhase0 } from '../../main/phases/phase0/run-phase0';
import { writeSet } from '../support/migration-dbs';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });
const work = path.join(os.tmpdir(), `fd-phase0-mongo-${process.pid}`);

const files = {
  '20240101000000-customers.js': `module.exports = {
  async up(db) {
    await db.createCollection('customers', { validator: { $jsonSchema: { bsonType: 'object', required: ['email'], properties: { email: { bsonType: 'string' } } } } });
    await db.collection('customers').createIndex({ email: 1 }, { name: 'email_1', unique: true });
    await db.collection('customers').insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: i + 1, email: 'c' + (i + 1) + '@example.com' })));
  },
  async down(db) {
    await db.collection('customers').drop();
  },
};
`,
  '20240102000000-orders.js': `module.exports = {
  async up(db) {
    await db.createCollection('orders');
    await db.collection('orders').createIndex({ customer_id: 1, created: -1 }, { name: 'orders_customer_created' });
    await db.createCollection('paid_orders', { viewOn: 'orders', pipeline: [{ $match: { status: 'paid' } }] });
  },
  async down(db) {
    await db.collection('paid_orders').drop();
    await db.collection('orders').drop();
  },
};
`,
};

const accepted = { by: 'Dana DBA', at: new Date().toISOString(), reason: 'checked by hand for this test' };

describe('Phase 0 on MongoDB', () => {
  const url = process.env.FLIGHTDECK_TEST_MONGODB_URL;
  if (!url) {
    describe.skip('mongodb: not available (set FLIGHTDECK_TEST_MONGODB_URL to run these against a live server)', () => {
      it('passes when all is well, with evidence for every check (the backup fails with the install hint where mongodump is not installed)', () => undefined);
      it('asks for a fix when an index differs on staging, naming the collection and the index', () => undefined);
      it('blocks on an operation running past the threshold, naming its application', () => undefined);
      it('stops the window when a migrate-mongo file has no down function', () => undefined);
    });
    return;
  }

  const { profile: base, password } = profileFromUrl(url, { id: 'mongo-phase0', environment: 'production' });
  const admin = new MongoClient(url);
  const suffix = randomBytes(4).toString('hex');
  const names = { prod: `fdp0m_${suffix}_prod`, stag: `fdp0m_${suffix}_stag` };
  const hasMongodump = spawnSync('which', ['mongodump']).status === 0;
  const conns: OpenConnection[] = [];
  let setDir: string;

  function profileFor(database: string): Profile {
    // The user authenticates where the URL says, whatever database the test works in.
    return { ...base, id: database, name: database, database, mongo: { ...base.mongo, authSource: base.mongo?.authSource ?? (base.database || 'admin') } };
  }
  async function open(database: string): Promise<OpenConnection> {
    const conn = await connectProfile(profileFor(database), { dbPassword: password }, { hostKeys, role: 'connect', poolSize: 3, statementTimeoutMs: 300_000, lockTimeoutMs: 2000, reconnect: { maxAttempts: 0 } });
    conns.push(conn);
    return conn;
  }

  beforeAll(async () => {
    await fs.mkdir(work, { recursive: true });
    setDir = await writeSet(files);
    for (const database of [names.prod, names.stag]) {
      const conn = await connectProfile(profileFor(database), { dbPassword: password }, { hostKeys, role: 'migration', poolSize: 2, lockTimeoutMs: 200, statementTimeoutMs: 0 });
      try {
        await runMigrations(conn, await readMigrationSet(setDir), { kind: 'up' }, { journalDir: path.join(work, 'journal'), lockTimeoutMs: 200 });
      } finally {
        await conn.close();
      }
    }
  }, 120_000);
  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    for (const database of [names.prod, names.stag]) await admin.db(database).dropDatabase().catch(() => undefined);
    await admin.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  async function context(over: Partial<Phase0Settings> = {}, dir?: string): Promise<Phase0Context> {
    const production = await open(names.prod);
    const staging = await open(names.stag);
    const backupDir = path.join(work, 'regular-backups');
    await fs.mkdir(backupDir, { recursive: true });
    await fs.writeFile(path.join(backupDir, 'nightly.archive.gz'), 'a backup');
    const settings: Phase0Settings = {
      ...defaultPhase0Settings,
      backupDir,
      dumpDir: path.join(work, 'dumps'),
      baselineDir: path.join(work, 'baselines'),
      longRunningMs: 1000,
      attestations: { 'attest-dba': { by: 'Dana DBA', at: new Date().toISOString() }, 'attest-dashboards': { by: 'Dana DBA', at: new Date().toISOString() } },
      accepted: {},
      ...over,
    };
    return { production, ...(password !== undefined ? { productionPassword: password } : {}), staging, set: await readMigrationSet(dir ?? setDir), settings };
  }
  const byId = (checks: CheckResult[], id: string) => checks.find((c) => c.id === id)!;

  it('passes when all is well, with evidence for every check (the backup fails with the install hint where mongodump is not installed)', { timeout: 180_000 }, async () => {
    // migrate-mongo need not be installed here, and the user may lack `top`: both medium, accepted in writing.
    const report = await runPhase0(await context({ accepted: { 'migration-tools': accepted, 'performance-baseline': accepted } }));
    const notPassing = report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.status}${c.accepted ? ' (accepted)' : ''}`);
    const expected = ['staging-dry-run: skipped', ...(hasMongodump ? [] : ['backup-dump: fail'])];
    expect(notPassing.filter((s) => !/^(migration-tools|performance-baseline): fail \(accepted\)$/.test(s))).toEqual(expected);

    expect(byId(report.checks, 'access-production').summary).toMatch(/can read and write fdp0m_\w+_prod on mongodb \d+\./);
    expect(byId(report.checks, 'rollback-scripts').summary).toBe('All 2 migrations have a down function.');
    expect(byId(report.checks, 'migration-syntax').summary).toBe('All 2 files load and export up.');
    expect(byId(report.checks, 'staging-dry-run').summary).toMatch(/^MongoDB applies each operation as it runs/);
    const schema = byId(report.checks, 'staging-schema');
    expect(schema.summary).toMatch(/^Identical schemas \(\d+ objects, fingerprint [0-9a-f]{16}\)\.$/);
    expect(schema.evidence.facts[0]![1]).toMatch(/migration version 20240102000000$/);
    expect(byId(report.checks, 'staging-rows').evidence.tables[0]!.rows).toContainEqual(['customers', '500', '500', '100%']);
    const pool = byId(report.checks, 'pool-headroom');
    expect(pool.summary).toMatch(/^\d+ of \d+ connections free \(\d+ in use\)\.$/);
    expect(pool.evidence.tables[0]!.rows.map((r) => r[0])).toContain('flightdeck/connect');
    expect(byId(report.checks, 'lock-analysis').summary).toBe('No operation or transaction older than 1.0 s, and none waiting for a lock.');
    const baseline = byId(report.checks, 'performance-baseline');
    const saved = JSON.parse(await fs.readFile(baseline.evidence.files[0]!, 'utf8'));
    expect(saved).toMatchObject({ engine: 'mongodb', database: names.prod });
    expect(saved.tables.map((t: { name: string }) => t.name)).toContain('customers');
    expect(Object.keys(saved.opcounters)).toEqual(expect.arrayContaining(['insert', 'query', 'update', 'delete', 'getmore', 'command']));
    if (baseline.status === 'fail') expect(baseline.summary).toContain('clusterMonitor');
    else expect(baseline.evidence.tables[0]!.rows.map((r) => r[0])).toContain(`${names.prod}.customers`);

    const dump = byId(report.checks, 'backup-dump');
    if (hasMongodump) {
      expect(report.gate.mayProceed).toBe(true);
      const file = dump.evidence.files[0]!;
      expect(file).toMatch(/\.archive\.gz$/);
      expect((await fs.stat(file)).size).toBeGreaterThan(1000);
      expect(dump.evidence.facts.find(([k]) => k === 'sha256')![1]).toMatch(/^[0-9a-f]{64}$/);
      expect(dump.evidence.facts.find(([k]) => k === 'read back')![1]).toMatch(/^mongorestore --dryRun read the archive's header: [1-9]\d* collection\(s\) to restore, .*; Flightdeck read it to the end: \d+ document\(s\) in \d+ collection\(s\), every collection's CRC-64 matched$/);
      expect(dump.evidence.tables[0]!.rows).toContainEqual([`${names.prod}.customers`, '500', expect.any(String)]);
    } else {
      expect(dump).toMatchObject({ status: 'fail', severity: 'critical', summary: 'No backup: mongodump was not found on PATH.' });
      expect(dump.hint).toContain('Install the MongoDB Database Tools');
      expect(report.gate.verdict).toBe('stop');
    }
  });

  it('asks for a fix when an index differs on staging, naming the collection and the index', { timeout: 60_000 }, async () => {
    const customers = admin.db(names.stag).collection('customers');
    await customers.dropIndex('email_1');
    await customers.createIndex({ email: 1 }, { name: 'email_1' });
    try {
      const report = await runPhase0(await context(), { only: ['staging-schema'] });
      const c = byId(report.checks, 'staging-schema');
      expect(c.status).toBe('fail');
      expect(c.summary).toBe('1 object(s) differ: 0 only in production, 0 only in staging, 1 changed.');
      expect(c.evidence.text).toContain('~ index customers.email_1:\n    production: {"email":1} unique\n    staging: {"email":1}');
      expect(report.gate.verdict).toBe('fix-first');
    } finally {
      await customers.dropIndex('email_1');
      await customers.createIndex({ email: 1 }, { name: 'email_1', unique: true });
    }
  });

  it('blocks on an operation running past the threshold, naming its application', { timeout: 60_000 }, async () => {
    await admin.db(names.prod).collection<{ _id: number }>('slow').insertOne({ _id: 1 });
    const sleeper = new MongoClient(url, { appName: 'fd-test/sleeper' });
    // One document, and the $where sleeps on it: the find runs for four seconds.
    const slow = sleeper.db(names.prod).collection('slow').find({ $where: 'sleep(4000) || true' }).toArray().catch((e: Error) => e);
    try {
      await sleep(1600);
      const report = await runPhase0(await context({ longRunningMs: 1000 }), { only: ['lock-analysis'] });
      const c = byId(report.checks, 'lock-analysis');
      expect(c.status).toBe('fail');
      const row = c.evidence.tables[0]!.rows.find((r) => r[2] === 'fd-test/sleeper');
      expect(row).toBeDefined();
      expect(row![3]).toBe('active');
      expect(row![5]).toContain(`${names.prod}.slow`);
      expect(Number(/^([\d.]+) s$/.exec(row![4]!)?.[1])).toBeGreaterThanOrEqual(1);
      expect(report.gate.verdict).toBe('fix-first');
    } finally {
      expect(await slow).toEqual([{ _id: 1 }]);
      await sleeper.close();
      await admin.db(names.prod).collection('slow').drop().catch(() => undefined);
    }
  });

  it('stops the window when a migrate-mongo file has no down function', { timeout: 60_000 }, async () => {
    const dir = await writeSet({ ...files, '20240103000000-backfill.js': 'module.exports = {\n  async up(db) {\n    await db.collection("customers").updateMany({}, { $set: { tier: "standard" } });\n  },\n};\n' });
    const report = await runPhase0(await context({}, dir), { only: ['rollback-scripts', 'migration-syntax'] });
    const c = byId(report.checks, 'rollback-scripts');
    expect(c).toMatchObject({ status: 'fail', severity: 'critical', summary: '1 migration(s) have no down function: 20240103000000-backfill.js.' });
    expect(byId(report.checks, 'migration-syntax').status).toBe('pass');
    expect(report.gate.verdict).toBe('stop');
  });
});

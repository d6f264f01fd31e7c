// The MongoDB health panels on a live server, each condition created for real and seen in the
// samples: N extra client connections raise the pool by N under their appName; an operation
// running past the threshold is listed; a find run 100 times shows in the statements panel (top)
// with its calls; a collection's sizes and an unused index show in the storage panel; and, on a
// replica set, a transaction left open makes a collection drop wait, the chain names the idle
// transaction's session, and ending that session from the panel lets the drop through.
//
// There is no MongoDB among the test servers the global setup starts: set FLIGHTDECK_TEST_MONGODB_URL
// (mongodb://user:password@host:27017/admin?authSource=admin) to run these. The user needs
// clusterMonitor (or root), may create and drop databases, and the server must allow server-side
// JavaScript (the long operation is a $where that sleeps). Without the variable they are registered
// as skipped, with the reason in the name.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileSummary } from '../../shared/api';
import type { Sample } from '../../shared/monitor';
import { profileFromUrl } from '../../main/connections/url';
import { createCore, type Core } from '../../main/core';
import { MemorySecretStore } from '../../main/secrets/secret-store';

async function call<T>(core: Core, method: string, input: unknown = {}): Promise<T> {
  const outcome = await core.dispatch(method, input);
  if (!outcome.ok) throw Object.assign(new Error(`${outcome.error.code}: ${outcome.error.message}`), outcome.error);
  return outcome.result as T;
}

describe('Health panels on MongoDB', () => {
  const url = process.env.FLIGHTDECK_TEST_MONGODB_URL;
  if (!url) {
    describe.skip('mongodb: not available (set FLIGHTDECK_TEST_MONGODB_URL to run these against a live server)', () => {
      it('counts N extra connections under their application', () => undefined);
      it('lists an operation running past the threshold', () => undefined);
      it('shows a find run 100 times in the statements panel with its calls', () => undefined);
      it('sizes the collections and lists an unused index', () => undefined);
      it('shows a drop waiting for an open transaction, and lets it through once the session is ended from the panel', () => undefined);
    });
    return;
  }

  const { profile: base, password } = profileFromUrl(url, { environment: 'staging' });
  const database = `fdmon_${randomBytes(4).toString('hex')}`;
  const admin = new MongoClient(url, { appName: 'fd-test/admin' });
  const clients: MongoClient[] = [];
  let dir: string;
  let core: Core;
  let id: string;
  const samples: Sample[] = [];
  const latest = () => samples.at(-1);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-monitor-mongo-'));
    await admin.connect();
    const db = admin.db(database);
    await db.collection<{ _id: number | string; status: string; customer?: number }>('orders').insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, status: i % 3 ? 'paid' : 'open', customer: i % 97 })));
    await db.collection('orders').createIndex({ customer: 1 }, { name: 'orders_customer' });
    core = await createCore({ transport: 'host', dataDir: path.join(dir, 'core'), secretStore: new MemorySecretStore() });
    core.events.subscribe((e) => {
      if (e.event === 'monitor/sample' && e.payload.profileId === id) samples.push(e.payload);
    });
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: { ...base, id: undefined, name: 'mongo under test', database, mongo: { ...base.mongo, authSource: base.mongo?.authSource ?? (base.database || 'admin') } },
      ...(password !== undefined ? { secrets: { 'db-password': password } } : {}),
    });
    id = saved.profile.id;
    await call(core, 'monitor/start', { profileId: id, intervalMs: 500, longRunningMs: 1000 });
    await expect.poll(() => latest()?.pool?.total, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close(true).catch(() => undefined)));
    await core?.shutdown();
    await admin.db(database).dropDatabase().catch(() => undefined);
    await admin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts N extra connections under their application', { timeout: 30_000 }, async () => {
    const before = latest()!.pool!.total;
    const n = 7;
    const extra = new MongoClient(url, { appName: 'fd-test/extra', minPoolSize: n, maxPoolSize: n });
    clients.push(extra);
    await extra.connect();
    // Seven operations at once make the driver open all seven connections.
    await Promise.all(Array.from({ length: n }, () => extra.db(database).collection('orders').findOne({ $where: 'sleep(200) || true' })));
    await expect.poll(() => latest()!.pool!.byApplication.find((a) => a.name === 'fd-test/extra')?.count, { timeout: 15_000 }).toBe(n);
    expect(latest()!.pool!.total).toBeGreaterThanOrEqual(before + n);
    expect(latest()!.pool!.max).toBeGreaterThan(latest()!.pool!.total);
    await extra.close();
  });

  it('lists an operation running past the threshold', { timeout: 30_000 }, async () => {
    const c = new MongoClient(url, { appName: 'fd-test/slow' });
    clients.push(c);
    const slow = c.db(database).collection('orders').findOne({ $where: 'sleep(4000) || false' });
    slow.catch(() => undefined);
    await expect.poll(() => latest()?.activity?.longRunning.find((r) => r.application === 'fd-test/slow'), { timeout: 10_000 }).toBeDefined();
    const row = latest()!.activity!.longRunning.find((r) => r.application === 'fd-test/slow')!;
    expect(row.durationMs).toBeGreaterThanOrEqual(1000);
    expect(row.query).toContain('sleep(4000)');
    await slow;
  });

  it('shows a find run 100 times in the statements panel with its calls', { timeout: 30_000 }, async () => {
    const c = new MongoClient(url, { appName: 'fd-test/finds' });
    clients.push(c);
    await expect.poll(() => latest()?.statements?.intervalMs, { timeout: 10_000 }).not.toBeNull();
    const readAt = latest()!.statements!.readAt!;
    for (let i = 0; i < 100; i++) await c.db(database).collection<{ _id: number }>('orders').findOne({ _id: i });
    // Each reading after the finds holds its interval's delta: together they add up to the 100.
    const callsSince = () => {
      const byReading = new Map<number, number>();
      for (const s of samples) {
        const st = s.statements;
        const row = st?.top.find((r) => r.id === `${database}.orders queries`);
        if (st?.readAt && st.readAt > readAt && row && st.intervalMs) byReading.set(st.readAt, Math.round((row.callsPerSec * st.intervalMs) / 1000));
      }
      return [...byReading.values()].reduce((n, x) => n + x, 0);
    };
    await expect.poll(callsSince, { timeout: 10_000 }).toBeGreaterThanOrEqual(100);
    const row = samples.map((s) => s.statements?.top.find((r) => r.id === `${database}.orders queries`)).find((r) => r !== undefined)!;
    expect(row.query).toBe(`find on ${database}.orders`);
    expect(row.meanMs).toBeGreaterThanOrEqual(0);
    expect(row.rowsPerSec).toBeNull();
  });

  it('sizes the collections and lists an unused index', { timeout: 120_000 }, async () => {
    // Storage is read every 60 s by default; restart with a short cadence.
    await call(core, 'monitor/start', { profileId: id, intervalMs: 500, longRunningMs: 1000, storageIntervalMs: 2000 });
    await expect.poll(() => latest()?.storage?.tables.find((t) => t.name === 'orders'), { timeout: 30_000 }).toBeDefined();
    const storage = latest()!.storage!;
    const orders = storage.tables.find((t) => t.name === 'orders')!;
    expect(orders).toMatchObject({ schema: database, liveRows: 2000 });
    expect(orders.totalBytes).toBeGreaterThan(0);
    expect(storage.unusedIndexes).toContainEqual(expect.objectContaining({ table: 'orders', name: 'orders_customer' }));
  });

  it('shows a drop waiting for an open transaction, and lets it through once the session is ended from the panel', { timeout: 60_000 }, async (ctx) => {
    const hello = await admin.db('admin').command({ hello: 1 });
    if (!hello.setName) ctx.skip();
    const holder = new MongoClient(url, { appName: 'fd-test/holder' });
    const dropper = new MongoClient(url, { appName: 'fd-test/dropper' });
    clients.push(holder, dropper);
    const session = holder.startSession();
    session.startTransaction();
    await holder.db(database).collection<{ _id: number | string; status: string }>('orders').insertOne({ _id: 'held', status: 'open' }, { session });
    // The drop needs the collection exclusively, and the transaction holds it in intent mode.
    const drop = dropper.db(database).command({ drop: 'orders', maxTimeMS: 30_000 });
    drop.catch(() => undefined);
    await expect.poll(() => latest()?.locks?.waits.find((w) => w.application === 'fd-test/dropper'), { timeout: 10_000 }).toBeDefined();
    const locks = latest()!.locks!;
    const wait = locks.waits.find((w) => w.application === 'fd-test/dropper')!;
    expect(wait.relation).toBe(`${database}.orders`);
    const blocker = locks.blockers.find((b) => wait.blockedBy.includes(b.pid) && b.application === 'fd-test/holder')!;
    expect(blocker).toMatchObject({ state: 'idle in transaction', sessionId: expect.stringMatching(/^[0-9a-f]{32}$/) });

    const result = await call<{ signalled: boolean; message: string }>(core, 'monitor/signal-backend', { profileId: id, pid: blocker.pid, sessionId: blocker.sessionId, action: 'terminate' });
    expect(result.signalled).toBe(true);
    await drop;
    await expect.poll(() => latest()?.locks?.waiting, { timeout: 10_000 }).toBe(0);
    await session.endSession().catch(() => undefined);
  });
});

// The built-in sandbox against real PostgreSQL: first start creates a primary, a streaming replica,
// the demo shop and a live workload; later starts reuse the data, move off ports someone else holds,
// and recover from a crash; stop leaves no server behind.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresCluster } from '../../main/servers/postgres-cluster';
import { Sandbox, type SandboxEndpoint, type SandboxInfo, type SandboxProgress } from '../../main/sandbox/sandbox';
import { freePort } from '../support/ports';
import { describeWith } from '../support/servers';

async function query<T extends pg.QueryResultRow>(ep: SandboxEndpoint, sql: string): Promise<T[]> {
  const c = new pg.Client({ host: ep.host, port: ep.port, user: ep.user, password: ep.password, database: ep.database });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

interface ShopCounts {
  customers: number;
  products: number;
  orders: number;
  order_items: number;
  payments: number;
}

async function shopCounts(ep: SandboxEndpoint): Promise<ShopCounts> {
  const rows = await query<ShopCounts & pg.QueryResultRow>(
    ep,
    `SELECT (SELECT count(*) FROM shop.customers)::int AS customers, (SELECT count(*) FROM shop.products)::int AS products,
            (SELECT count(*) FROM shop.orders)::int AS orders, (SELECT count(*) FROM shop.order_items)::int AS order_items,
            (SELECT count(*) FROM shop.payments)::int AS payments`,
  );
  return rows[0]!;
}

async function expectStreaming(info: SandboxInfo): Promise<void> {
  const rows = await query<{ state: string; application_name: string }>(info.primary, 'SELECT state, application_name FROM pg_stat_replication');
  expect(rows).toEqual([{ state: 'streaming', application_name: 'flightdeck-sandbox-replica' }]);
  const recovery = await query<{ r: boolean }>(info.replica, 'SELECT pg_is_in_recovery() AS r');
  expect(recovery[0]!.r).toBe(true);
}

/** Processes whose command line names the data directory (the postmaster is started with -D). */
function processesFor(dataDir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dataDir) && !l.includes('ps -eo'));
}

function expectNoServer(info: SandboxInfo): void {
  for (const dir of [info.primary.dataDir, info.replica.dataDir]) {
    expect(fs.existsSync(path.join(dir, 'postmaster.pid'))).toBe(false);
    expect(processesFor(dir)).toEqual([]);
  }
}

describeWith('postgres', 'sandbox', () => {
  let dataDir: string;
  let first: SandboxInfo;
  let firstCounts: ShopCounts;
  const sandboxes: Sandbox[] = [];

  beforeAll(() => {
    // The PID in the name lets the global setup of a later run clean up after an interrupted one.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `flightdeck-sandbox-test-${process.pid}-`));
  });

  afterAll(async () => {
    for (const s of sandboxes) await s.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a primary, a streaming replica, the demo shop and a workload, with progress', async () => {
    const sandbox = new Sandbox({ dataDir, preferredPorts: { primary: await freePort(), replica: await freePort() }, workload: { speed: 2, slowQueryEveryMs: 5000 } });
    sandboxes.push(sandbox);
    const progress: SandboxProgress[] = [];
    const t0 = Date.now();
    first = await sandbox.start((p) => progress.push(p));
    const startMs = Date.now() - t0;
    expect(sandbox.state).toBe('running');
    expect(first.created).toBe(true);
    expect(first.primary.database).toBe('flightdeck_demo');
    expect(first.primary.port).not.toBe(first.replica.port);

    const fractions = progress.map((p) => p.fraction).filter((f): f is number => f !== null);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBe(1);
    expect(progress.map((p) => p.label)).toContain('Loading orders');

    const credentials = path.join(dataDir, 'sandbox', 'credentials.json');
    expect(fs.statSync(credentials).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(credentials, 'utf8')).password).toBe(first.primary.password);

    await expectStreaming(first);
    firstCounts = await shopCounts(first.primary);
    expect(firstCounts.customers).toBe(20_000);
    expect(firstCounts.products).toBe(2_000);
    expect(firstCounts.orders).toBeGreaterThanOrEqual(50_000);
    expect(firstCounts.order_items).toBeGreaterThan(100_000);
    expect(firstCounts.payments).toBeGreaterThan(40_000);
    // The replica has the shop too (it was cloned after the load).
    expect((await shopCounts(first.replica)).customers).toBe(20_000);
    console.info(`sandbox first start: ${startMs} ms`);
  });

  it('runs a workload that commits on the primary and reads on the replica', async () => {
    const commits = async () =>
      Number((await query<{ n: string }>(first.primary, "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'flightdeck_demo'"))[0]!.n);
    const before = await commits();
    await expect.poll(commits, { timeout: 15_000, interval: 500 }).toBeGreaterThan(before + 10);
    await expect
      .poll(async () => (await query<{ n: number }>(first.primary, "SELECT count(*)::int AS n FROM shop.orders WHERE created_at > now() - interval '1 minute'"))[0]!.n, {
        timeout: 15_000,
        interval: 500,
      })
      .toBeGreaterThan(0);
    const apps = await query<{ application_name: string }>(first.primary, "SELECT DISTINCT application_name FROM pg_stat_activity WHERE application_name LIKE 'demo-shop/%'");
    expect(apps.map((a) => a.application_name)).toEqual(expect.arrayContaining(['demo-shop/web-1', 'demo-shop/worker']));
    const replicaApps = await query<{ application_name: string }>(first.replica, "SELECT application_name FROM pg_stat_activity WHERE application_name = 'demo-shop/replica-reader'");
    expect(replicaApps).toHaveLength(1);
    // A slow report runs now and then (every ~5 s at this pace, for 1.5..3.5 s).
    await expect
      .poll(async () => (await query(first.primary, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'demo-shop/reports' AND state = 'active' AND query LIKE '%pg_sleep%'")).length, {
        timeout: 20_000,
        interval: 200,
      })
      .toBe(1);
  });

  it('stops the workload, the replica and the primary, leaving no server behind', async () => {
    const sandbox = sandboxes[0]!;
    const t0 = Date.now();
    await sandbox.stop();
    // A slow report was likely in flight; it is cancelled, not waited for.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(sandbox.state).toBe('off');
    expectNoServer(first);
  });

  it('reuses the data on the next start, on other ports when the preferred one is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(first.primary.port, '127.0.0.1', resolve));
    try {
      const sandbox = new Sandbox({ dataDir, preferredPorts: { primary: first.primary.port, replica: first.replica.port }, workload: false });
      sandboxes.push(sandbox);
      const again = await sandbox.start();
      expect(again.created).toBe(false);
      expect(again.primary.password).toBe(first.primary.password);
      expect(again.primary.port).not.toBe(first.primary.port);
      await expectStreaming(again);
      const counts = await shopCounts(again.primary);
      expect(counts.customers).toBe(20_000);
      // The workload's orders from the first run are still there.
      expect(counts.orders).toBeGreaterThan(firstCounts.orders);
      await sandbox.stop();
      expectNoServer(again);
    } finally {
      blocker.close();
    }
  });

  it('recovers after both servers were killed', async () => {
    const sandbox = new Sandbox({ dataDir, preferredPorts: { primary: await freePort(), replica: await freePort() }, workload: false });
    sandboxes.push(sandbox);
    const before = await sandbox.start();
    const rowsBefore = await shopCounts(before.primary);
    for (const ep of [before.replica, before.primary]) {
      await new PostgresCluster({ dataDir: ep.dataDir, port: ep.port, superuserPassword: ep.password, superuser: ep.user }).kill();
      // The crash leaves its postmaster.pid behind.
      expect(fs.existsSync(path.join(ep.dataDir, 'postmaster.pid'))).toBe(true);
    }

    const afterCrash = new Sandbox({ dataDir, preferredPorts: { primary: before.primary.port, replica: before.replica.port }, workload: false });
    sandboxes.push(afterCrash);
    const info = await afterCrash.start();
    expect(info.created).toBe(false);
    await expectStreaming(info);
    expect(await shopCounts(info.primary)).toEqual(rowsBefore);
    await afterCrash.stop();
    expectNoServer(info);
  });

  it('clones the replica again when its files are damaged', async () => {
    fs.rmSync(path.join(dataDir, 'sandbox', 'replica', 'global', 'pg_control'));
    const sandbox = new Sandbox({ dataDir, preferredPorts: { primary: await freePort(), replica: await freePort() }, workload: false });
    sandboxes.push(sandbox);
    const info = await sandbox.start();
    expect(info.created).toBe(false);
    await expectStreaming(info);
    expect(fs.existsSync(path.join(info.replica.dataDir, 'global', 'pg_control'))).toBe(true);
    expect((await shopCounts(info.replica)).customers).toBe(20_000);
    await sandbox.stop();
    expectNoServer(info);
  });

  it('sets new passwords when credentials.json was lost, keeping the data', async () => {
    const file = path.join(dataDir, 'sandbox', 'credentials.json');
    const oldPassword = JSON.parse(fs.readFileSync(file, 'utf8')).password as string;
    fs.rmSync(file);
    const sandbox = new Sandbox({ dataDir, preferredPorts: { primary: await freePort(), replica: await freePort() }, workload: false });
    sandboxes.push(sandbox);
    const info = await sandbox.start();
    expect(info.created).toBe(false);
    expect(info.primary.password).not.toBe(oldPassword);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // The replica logs in to the primary with the new password too.
    await expectStreaming(info);
    expect((await shopCounts(info.primary)).customers).toBe(20_000);
    const stale = new pg.Client({ host: info.primary.host, port: info.primary.port, user: info.primary.user, password: oldPassword, database: info.primary.database });
    await expect(stale.connect()).rejects.toThrow(/password authentication failed/);
    await sandbox.stop();
    expectNoServer(info);
  });
});

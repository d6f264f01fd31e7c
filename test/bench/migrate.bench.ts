// `npm run bench:migrate`: what the migration runner costs, in the two figures the issue asks for.
//
//   1. Read and check: readMigrationSet on a generated set of BENCH_MIGRATIONS (1,000) golang-migrate
//      migrations, then every up and down file through PostgreSQL's parser (postgresUnits), as the
//      runner's preflight does. Timed BENCH_CHECK_REPEATS (3) times in this one process; the parser's
//      one-off WebAssembly load is shown apart.
//   2. Apply: the first BENCH_APPLY (200) of those migrations (small and realistic: CREATE TABLE,
//      ALTER TABLE ADD COLUMN, CREATE INDEX, INSERTs, functions with $$ bodies, views, triggers, DO
//      blocks) applied to a fresh database by Flightdeck's runner (connectProfile as the CLI opens it,
//      readMigrationSet, runMigrations up), and to another fresh database by `psql -v ON_ERROR_STOP=1
//      -1 -f FILE`, one process per file, as a shell loop or a golang-migrate-ish script does it. Then
//      both go down to zero the same way. Two more baselines run beside them: the psql executable
//      itself when /usr/bin/psql is Debian's Perl wrapper, and one node-postgres session sending each
//      file whole (the floor for any in-process runner). BENCH_ROUNDS (3) rounds, the tools taking
//      turns to go first, fresh databases each round, on a throwaway PostgreSQL (the product's own
//      cluster module), because the machine is shared and noisy: the per-round ratios say more than
//      any one absolute figure.
//
// Bundled by esbuild and run by plain Node (see the package.json script) rather than as a vitest
// file, so stdout carries the one JSON object and nothing else; progress goes to stderr.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import type { Profile } from '../../shared/profile';
import { connectProfile } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { runMigrations, type RunAction } from '../../main/migrations/runner';
import { loadPostgresParser } from '../../main/migrations/split-postgres';
import { postgresUnits } from '../../main/migrations/units';
import { PostgresCluster } from '../../main/servers/postgres-cluster';
import { freePort } from '../support/ports';
import { generateSet, writeSet } from './migration-set-generator';

const migrationCount = positiveInt(process.env.BENCH_MIGRATIONS, 1000);
const applyCount = Math.min(migrationCount, positiveInt(process.env.BENCH_APPLY, 200));
const rounds = positiveInt(process.env.BENCH_ROUNDS, 3);
const checkRepeats = positiveInt(process.env.BENCH_CHECK_REPEATS, 3);
/** BENCH_PG_FSYNC=1: a durable server (fsync on) instead of the default fsync=off test server. */
const pgFsync = process.env.BENCH_PG_FSYNC === '1';
const psqlPath = process.env.BENCH_PSQL ?? '/usr/bin/psql';
/** What the runner's preflight passes when it cannot ask the server (and what the issue names). */
const parseServerVersion = 150000;
/** The options the CLI opens a migration session with (test/support/migration-dbs.ts does the same). */
const lockTimeoutMs = 200;

function positiveInt(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function log(message: string): void {
  process.stderr.write(`[bench:migrate] ${message}\n`);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sum = (values: readonly number[]) => values.reduce((s, v) => s + v, 0);
const mean = (values: readonly number[]) => (values.length ? sum(values) / values.length : NaN);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

// The migration set (generateSet, writeSet) lives in ./migration-set-generator.ts, shared with bench:plan.

// ---- figure 1: read and check ------------------------------------------------------------------

async function benchReadAndCheck(dir: string) {
  const t0 = performance.now();
  await loadPostgresParser();
  const parserLoadMs = performance.now() - t0;
  const runs: { readMs: number; parseMs: number; totalMs: number; files: number; statements: number; problems: number; migrations: number }[] = [];
  for (let i = 0; i < checkRepeats; i++) {
    const a = performance.now();
    const set = await readMigrationSet(dir);
    const b = performance.now();
    let files = 0;
    let statements = 0;
    for (const m of set.migrations) {
      for (const f of [m.up, m.down]) {
        if (!f) continue;
        files++;
        statements += postgresUnits(f, parseServerVersion).reduce((n, u) => n + u.statements.length, 0);
      }
    }
    const c = performance.now();
    runs.push({ readMs: b - a, parseMs: c - b, totalMs: c - a, files, statements, problems: set.problems.length, migrations: set.migrations.length });
    log(`read and check ${i + 1}/${checkRepeats}: read ${round(b - a)} ms, parse ${round(c - b)} ms`);
  }
  const first = runs[0]!;
  if (first.problems) throw new Error(`the generated set has ${first.problems} problem(s)`);
  const total = percentile(runs.map((r) => r.totalMs), 50);
  return {
    migrations: first.migrations,
    files: first.files,
    statements: first.statements,
    bytes: fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0),
    ms: round(total, 1),
    perMigrationMs: round(total / first.migrations, 3),
    readMs: round(percentile(runs.map((r) => r.readMs), 50), 1),
    parseMs: round(percentile(runs.map((r) => r.parseMs), 50), 1),
    firstRunMs: round(first.totalMs, 1),
    repeats: runs.length,
    parserLoadMs: round(parserLoadMs, 1),
    method: `median of ${runs.length} runs in one process of readMigrationSet plus postgresUnits(file, ${parseServerVersion}) on every up and down file; parserLoadMs (the WebAssembly parser's one-off load, once per process) is not included`,
  };
}

// ---- figure 2: apply ---------------------------------------------------------------------------

interface Conn {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
}

interface ToolRun {
  /** Wall time of the whole run, everything included. */
  totalMs: number;
  /** Per migration: from the start of one to the start of the next (the last: to the end). */
  stepMs: number[];
  /** totalMs minus the steps: connecting, reading, checking, locking, bookkeeping set-up. */
  fixedMs: number;
  detail?: Record<string, number>;
}

const hostKeys = (tmp: string) => new HostKeyPolicy({ defaultKnownHostsFile: path.join(tmp, 'no-known-hosts') });

async function flightdeckRun(conn: Conn, database: string, dir: string, action: RunAction, journalDir: string, keys: HostKeyPolicy): Promise<ToolRun> {
  const profile: Profile = { id: database, name: database, engine: 'postgres', environment: 'staging', host: conn.host, port: conn.port, database, user: conn.user, tls: { mode: 'disable' }, connectTimeoutMs: 5000 };
  const marks: number[] = [];
  const t0 = performance.now();
  const open = await connectProfile(profile, { dbPassword: conn.password }, { hostKeys: keys, role: 'migration', poolSize: 2, lockTimeoutMs, statementTimeoutMs: 0 });
  const t1 = performance.now();
  let t2 = t1;
  let t3 = t1;
  let steps = 0;
  try {
    const set = await readMigrationSet(dir);
    t2 = performance.now();
    const result = await runMigrations(open, set, action, {
      journalDir,
      lockTimeoutMs,
      // The runner logs this line right before each step: the steps' boundaries.
      onLog: (level, message) => {
        if (level === 'info' && /^(Applying|Reverting) /.test(message)) marks.push(performance.now());
        else if (level !== 'info') log(`runner ${level}: ${message}`);
      },
    });
    t3 = performance.now();
    steps = result.steps.length;
  } finally {
    await open.close();
  }
  const t4 = performance.now();
  if (marks.length !== steps) throw new Error(`saw ${marks.length} step starts for ${steps} steps`);
  const stepMs = marks.map((m, i) => (marks[i + 1] ?? t3) - m);
  const totalMs = t4 - t0;
  return {
    totalMs,
    stepMs,
    fixedMs: totalMs - sum(stepMs),
    detail: { connectMs: t1 - t0, readSetMs: t2 - t1, beforeFirstStepMs: (marks[0] ?? t3) - t2, closeMs: t4 - t3 },
  };
}

/** The child's environment: ours without any PG* variable (a stray PGSERVICE or PGHOST must not
 * redirect psql), plus the target. The password travels in PGPASSWORD, never on the command line. */
function psqlEnv(conn: Conn, database: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  // TLS and GSS off, as the runner's profile has it: otherwise libpq first tries to negotiate them.
  return { ...env, PGHOST: conn.host, PGPORT: String(conn.port), PGUSER: conn.user, PGDATABASE: database, PGPASSWORD: conn.password, PGSSLMODE: 'disable', PGGSSENCMODE: 'disable', PGAPPNAME: 'bench-psql' };
}

function runProcess(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdout ignored, as a script that redirects it to /dev/null.
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function psqlRun(psql: string, conn: Conn, database: string, files: readonly string[]): Promise<ToolRun> {
  const env = psqlEnv(conn, database);
  const stepMs: number[] = [];
  const t0 = performance.now();
  for (const file of files) {
    const t = performance.now();
    // -X: no ~/.psqlrc, so the figure does not depend on whoever runs it.
    const r = await runProcess(psql, ['-X', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file], env);
    stepMs.push(performance.now() - t);
    if (r.code !== 0) throw new Error(`psql -f ${path.basename(file)} exited with ${r.code}: ${r.stderr.trim()}`);
  }
  const totalMs = performance.now() - t0;
  return { totalMs, stepMs, fixedMs: totalMs - sum(stepMs) };
}

/** The floor for any in-process runner: one node-postgres session, each file sent whole as one
 * simple query between BEGIN and COMMIT, no parsing, no bookkeeping, no journal. */
async function plainPgRun(conn: Conn, database: string, files: readonly string[]): Promise<ToolRun> {
  const t0 = performance.now();
  const client = new pg.Client({ ...conn, database, application_name: 'bench-plain-pg' });
  client.on('error', () => undefined);
  await client.connect();
  const stepMs: number[] = [];
  try {
    for (const file of files) {
      const t = performance.now();
      const text = await fs.promises.readFile(file, 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(text);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`${path.basename(file)}: ${(e as Error).message}`);
      }
      stepMs.push(performance.now() - t);
    }
  } finally {
    await client.end();
  }
  const totalMs = performance.now() - t0;
  return { totalMs, stepMs, fixedMs: totalMs - sum(stepMs) };
}

/** The application's schema, without either tool's bookkeeping: equal after both ups, empty after
 * both downs. */
async function fingerprint(admin: pg.ClientConfig, database: string): Promise<{ objects: number; rows: number; hash: string }> {
  const c = new pg.Client({ ...admin, database });
  await c.connect();
  try {
    const r = await c.query<{ objects: number; hash: string | null }>(`
      with o as (
        select c.relkind::text || ':' || c.relname as o from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relname !~ '^(flightdeck_migration|schema_migrations)'
        union all
        select 'f:' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'
        union all
        select 'y:' || t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = 'public' and t.typtype = 'e'
        union all
        select 'g:' || t.tgname from pg_trigger t where not t.tgisinternal)
      select count(*)::int as objects, md5(string_agg(o, ',' order by o)) as hash from o`);
    const tables = await c.query<{ relname: string }>(`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r' and c.relname !~ '^(flightdeck_migration|schema_migrations)'`);
    let rows = 0;
    for (const t of tables.rows) rows += Number((await c.query<{ n: string }>(`select count(*) as n from "${t.relname}"`)).rows[0]!.n);
    return { objects: r.rows[0]!.objects, rows, hash: r.rows[0]!.hash ?? '' };
  } finally {
    await c.end();
  }
}

type Tool = 'flightdeck' | 'psql' | 'psqlBinary' | 'plainPg';

interface RoundResult {
  round: number;
  order: Tool[];
  up: Partial<Record<Tool, ToolRun>>;
  down: Partial<Record<Tool, ToolRun>>;
}

function perMigration(runs: readonly ToolRun[], n: number) {
  const steps = runs.flatMap((r) => r.stepMs);
  return {
    // All in: the whole run (connecting, reading, checking included) over the migrations.
    mean: round(mean(runs.map((r) => r.totalMs / n)), 2),
    p50: round(percentile(steps, 50), 2),
    p90: round(percentile(steps, 90), 2),
    stepMean: round(mean(steps), 2),
    fixedMsPerRun: round(mean(runs.map((r) => r.fixedMs)), 1),
  };
}

function compare(rs: readonly RoundResult[], dir: 'up' | 'down', n: number, tools: readonly Tool[]) {
  const runs = (t: Tool) => rs.map((r) => r[dir][t]!);
  const f = perMigration(runs('flightdeck'), n);
  const against = (t: Tool) => {
    const b = perMigration(runs(t), n);
    return {
      perMigrationMs: b,
      overheadPerMigrationMs: round(f.mean - b.mean, 2),
      overheadPerMigrationP50Ms: round(f.p50 - b.p50, 2),
      ratio: round(f.mean / b.mean, 3),
      ratioP50: round(f.p50 / b.p50, 3),
      roundRatios: rs.map((r) => round(r[dir].flightdeck!.totalMs / r[dir][t]!.totalMs, 3)),
    };
  };
  const psql = against('psql');
  const details = runs('flightdeck').map((r) => r.detail!);
  return {
    flightdeckPerMigrationMs: f,
    psqlPerMigrationMs: psql.perMigrationMs,
    overheadPerMigrationMs: psql.overheadPerMigrationMs,
    ratio: psql.ratio,
    overheadPerMigrationP50Ms: psql.overheadPerMigrationP50Ms,
    ratioP50: psql.ratioP50,
    roundRatios: psql.roundRatios,
    otherBaselines: Object.fromEntries(tools.filter((t) => t !== 'flightdeck' && t !== 'psql').map((t) => [t, against(t)])),
    flightdeckFixedMs: Object.fromEntries(Object.keys(details[0] ?? {}).map((k) => [k, round(mean(details.map((d) => d[k]!)), 1)])),
    totalMs: Object.fromEntries(tools.map((t) => [t, runs(t).map((r) => round(r.totalMs, 0))])),
    order: rs.map((r) => r.order.join(',')),
  };
}

async function benchApply(conn: Conn, admin: pg.Client, dir: string, files: readonly string[], tmp: string, psqlBinary: string | null) {
  const tools: Tool[] = ['flightdeck', 'psql', ...(psqlBinary ? (['psqlBinary'] as const) : []), 'plainPg'];
  const journalDir = path.join(tmp, 'journal');
  const keys = hostKeys(tmp);
  const ups = files.map((f) => path.join(dir, `${f}.up.sql`));
  const downs = files.map((f) => path.join(dir, `${f}.down.sql`)).reverse();
  const adminConfig: pg.ClientConfig = { ...conn, database: 'postgres' };
  const run = (t: Tool, database: string, direction: 'up' | 'down'): Promise<ToolRun> => {
    if (t === 'flightdeck') return flightdeckRun(conn, database, dir, direction === 'up' ? { kind: 'up' } : { kind: 'down', steps: 'all' }, journalDir, keys);
    if (t === 'psql') return psqlRun(psqlPath, conn, database, direction === 'up' ? ups : downs);
    if (t === 'psqlBinary') return psqlRun(psqlBinary!, conn, database, direction === 'up' ? ups : downs);
    return plainPgRun(conn, database, direction === 'up' ? ups : downs);
  };
  const results: RoundResult[] = [];
  const checks = { upSchemasEqual: true, upObjects: 0, upRows: 0, downEmpty: true };
  for (let r = 0; r < rounds; r++) {
    // Each round starts with another tool, so drift on the shared machine does not favour one.
    const order = tools.map((_, i) => tools[(i + r) % tools.length]!);
    const dbs = Object.fromEntries(tools.map((t) => [t, `bench_${t.toLowerCase()}_${r}`])) as Record<Tool, string>;
    log(`round ${r + 1}/${rounds}: ${order.join(', ')}`);
    for (const t of order) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbs[t]}`);
      await admin.query(`CREATE DATABASE ${dbs[t]}`);
    }
    // A checkpoint now rather than in the middle of someone's run.
    await admin.query('CHECKPOINT');
    const up: Partial<Record<Tool, ToolRun>> = {};
    for (const t of order) {
      const res = await run(t, dbs[t], 'up');
      up[t] = res;
      log(`  up   ${t.padEnd(10)} ${round(res.totalMs, 0)} ms (${round(res.totalMs / files.length)} ms/migration)`);
    }
    const prints = await Promise.all(tools.map((t) => fingerprint(adminConfig, dbs[t])));
    if (prints.some((fp) => fp.hash !== prints[0]!.hash || fp.rows !== prints[0]!.rows)) {
      checks.upSchemasEqual = false;
      log(`round ${r + 1}: the schemas differ after up: ${JSON.stringify(prints)}`);
    }
    checks.upObjects = prints[0]!.objects;
    checks.upRows = prints[0]!.rows;
    await admin.query('CHECKPOINT');
    const down: Partial<Record<Tool, ToolRun>> = {};
    for (const t of order) {
      const res = await run(t, dbs[t], 'down');
      down[t] = res;
      log(`  down ${t.padEnd(10)} ${round(res.totalMs, 0)} ms (${round(res.totalMs / files.length)} ms/migration)`);
    }
    for (const t of order) {
      const fp = await fingerprint(adminConfig, dbs[t]);
      if (fp.objects !== 0 || fp.rows !== 0) {
        checks.downEmpty = false;
        log(`round ${r + 1}: ${t} left ${fp.objects} object(s) and ${fp.rows} row(s) after down`);
      }
      await admin.query(`DROP DATABASE IF EXISTS ${dbs[t]} WITH (FORCE)`);
    }
    results.push({ round: r + 1, order, up, down });
  }
  const journalFsync = await fsyncProbe(journalDir);
  const psqlConnectOnlyMsP50 = await psqlConnectProbe(psqlPath, conn);
  const psqlBinaryConnectOnlyMsP50 = psqlBinary ? await psqlConnectProbe(psqlBinary, conn) : null;
  return {
    tools,
    up: compare(results, 'up', files.length, tools),
    down: compare(results, 'down', files.length, tools),
    checks,
    journalFsync,
    psqlConnectOnlyMsP50,
    psqlBinaryConnectOnlyMsP50,
  };
}

/** What one psql process costs before any migration: start, connect (SCRAM), one trivial query, exit. */
async function psqlConnectProbe(psql: string, conn: Conn): Promise<number> {
  const env = psqlEnv(conn, 'postgres');
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const r = await runProcess(psql, ['-X', '-c', 'select 1'], env);
    times.push(performance.now() - t);
    if (r.code !== 0) throw new Error(`psql -c 'select 1' exited with ${r.code}: ${r.stderr.trim()}`);
  }
  return round(percentile(times, 50), 2);
}

// ---- the machine -------------------------------------------------------------------------------

/** What one journal entry costs on this disk: the runner appends and fsyncs two per step. */
async function fsyncProbe(dir: string): Promise<{ appendSyncMsP50: number; appendSyncMsP90: number }> {
  fs.mkdirSync(dir, { recursive: true });
  const handle = await fs.promises.open(path.join(dir, 'fsync-probe.jsonl'), 'ax', 0o600);
  const times: number[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await handle.appendFile(`{"type":"probe","i":${i}}\n`, 'utf8');
      await handle.sync();
      times.push(performance.now() - t);
    }
  } finally {
    await handle.close();
  }
  return { appendSyncMsP50: round(percentile(times, 50), 3), appendSyncMsP90: round(percentile(times, 90), 3) };
}

/** Starting any process from this Node process (part of every psql figure). */
async function spawnProbe(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    await runProcess('/bin/true', [], process.env);
    times.push(performance.now() - t);
  }
  return round(percentile(times, 50), 2);
}

/** Debian and Ubuntu install psql as a link to pg_wrapper, a Perl script that picks a version and
 * execs the real binary: that start-up is part of what a DBA's `psql -f` costs there, but not
 * elsewhere, so the binary itself (beside the server's) is timed too when they differ. */
function describePsql(serverBinDir: string): { resolved: string; script: string | null; binary: string | null } {
  const resolved = fs.realpathSync(psqlPath);
  let script: string | null = null;
  try {
    const head = fs.readFileSync(resolved, { encoding: 'latin1' }).slice(0, 200);
    if (head.startsWith('#!')) script = head.split('\n')[0]!.slice(2).trim();
  } catch {
    // unreadable: treat it as a binary
  }
  const candidate = process.env.BENCH_PSQL_BINARY ?? path.join(serverBinDir, 'psql');
  const binary = fs.existsSync(candidate) && fs.realpathSync(candidate) !== resolved ? candidate : null;
  return { resolved, script, binary };
}

async function psqlVersion(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(psqlPath, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', () => resolve('unknown'));
    child.on('close', () => resolve(out.trim()));
  });
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-bench-migrate-'));
  // As root, PostgreSQL runs as the postgres OS user, which must be able to enter the directory.
  fs.chmodSync(tmp, 0o755);
  let cluster: PostgresCluster | undefined;
  let admin: pg.Client | undefined;
  try {
    log(`generating ${migrationCount} migrations`);
    const generated = generateSet(migrationCount);
    const fullDir = path.join(tmp, 'set-full');
    writeSet(fullDir, generated);
    const applyDir = path.join(tmp, 'set-apply');
    const { files: applyFiles } = writeSet(applyDir, generated.slice(0, applyCount));

    const readAndCheck = await benchReadAndCheck(fullDir);

    const password = randomBytes(18).toString('base64url');
    cluster = new PostgresCluster({ dataDir: path.join(tmp, 'pg'), port: await freePort(), superuserPassword: password, superuser: 'flightdeck', name: 'fd-bench-migrate', noSync: !pgFsync });
    log(`starting PostgreSQL ${cluster.binaries.version} (${cluster.binaries.source}${pgFsync ? ', fsync on' : ', fsync off'})`);
    await cluster.init();
    // freePort() can lose a race for its port; the cluster then moves to another.
    await cluster.start({ portRetry: { attempts: 3 } });
    const conn: Conn = { host: '127.0.0.1', port: cluster.port, user: 'flightdeck', password };
    admin = new pg.Client({ ...conn, database: 'postgres', application_name: 'bench-admin' });
    admin.on('error', () => undefined);
    await admin.connect();
    const server = (await admin.query<{ v: string; fsync: string; sc: string }>("select current_setting('server_version') as v, current_setting('fsync') as fsync, current_setting('synchronous_commit') as sc")).rows[0]!;

    const psql = describePsql(cluster.binaries.binDir);
    log(`${psqlPath} is ${psql.resolved}${psql.script ? ` (a script: ${psql.script})` : ''}${psql.binary ? `; also timing the psql binary ${psql.binary}` : ''}`);
    log(`applying ${applyCount} migrations, ${rounds} round(s), the tools taking turns to go first`);
    const apply = await benchApply(conn, admin, applyDir, applyFiles, tmp, psql.binary);
    const spawnTrueMsP50 = await spawnProbe();

    const cpus = os.cpus();
    const result = {
      readAndCheck,
      apply: {
        migrations: applyCount,
        rounds,
        // flightdeckPerMigrationMs, psqlPerMigrationMs, overheadPerMigrationMs, ratio first, then the rest.
        ...apply.up,
        down: apply.down,
        checks: apply.checks,
        method:
          'per round, a fresh database for each tool; flightdeck = connectProfile (role migration, pool 2, lock_timeout 200 ms) + readMigrationSet + runMigrations + close, in this process; ' +
          "psql = `psql -X -v ON_ERROR_STOP=1 -1 -f FILE`, one process per file, stdout to /dev/null, password in PGPASSWORD. mean: the whole run's wall time over the migrations (all fixed costs included); " +
          'p50/p90/stepMean: per migration (flightdeck: from one step start to the next, journal fsyncs and bookkeeping included; psql: one process start to exit); ratio = flightdeck mean / psql mean; roundRatios: whole-run time ratios per round. ' +
          'otherBaselines.psqlBinary: the same psql command with the psql executable itself, when ' + psqlPath + ' is a wrapper script (Debian/Ubuntu pg_wrapper); ' +
          'otherBaselines.plainPg: the floor for an in-process runner, one node-postgres session sending each file whole between BEGIN and COMMIT (no parsing, bookkeeping or journal).',
      },
      machine: {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model ?? 'unknown',
        memGB: round(os.totalmem() / 2 ** 30, 1),
        loadavgBefore: loadBefore.map((l) => round(l, 2)),
        loadavgAfter: os.loadavg().map((l) => round(l, 2)),
        node: process.version,
        postgres: `${server.v} (${cluster.binaries.source}, fsync=${server.fsync}, synchronous_commit=${server.sc})`,
        psql: await psqlVersion(),
        psqlPath,
        psqlResolvesTo: psql.resolved,
        ...(psql.script ? { psqlScript: psql.script } : {}),
        ...(psql.binary ? { psqlBinary: psql.binary } : {}),
        // One process: start, connect (SCRAM-SHA-256 over TCP), `select 1`, exit.
        psqlConnectOnlyMsP50: apply.psqlConnectOnlyMsP50,
        ...(apply.psqlBinaryConnectOnlyMsP50 !== null ? { psqlBinaryConnectOnlyMsP50: apply.psqlBinaryConnectOnlyMsP50 } : {}),
        journalFsync: apply.journalFsync,
        spawnTrueMsP50,
      },
      runSeconds: round((performance.now() - started) / 1000, 1),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await admin?.end().catch(() => undefined);
    try {
      await cluster?.stop('fast');
    } catch (e) {
      log(`cleanup: stopping PostgreSQL failed: ${(e as Error).message}`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);

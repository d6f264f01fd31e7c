// MySQL and MariaDB through mysql2: a bounded pool whose sessions carry a program name and lock
// and statement time limits, and an inspection built from VERSION() and SHOW GRANTS.
import net from 'node:net';
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, PoolOptions, RowDataPacket, SslOptions } from 'mysql2/promise';
import { FlightdeckError } from '../../shared/errors';
import { applicationName, expectedServerName, probeSuffix, readTlsFiles, type DriverParams, type EngineSession, type Inspection, type PinnedSql, type Row, type SqlSession } from './adapter';
import { classifyConnectError } from './errors';

export async function openMysql(p: DriverParams): Promise<EngineSession> {
  if (p.tls.mode === 'disable') return connect(p, false);
  try {
    return await connect(p, true);
  } catch (e) {
    // "prefer" falls back to plain only when the server has no TLS at all, as libpq does.
    if (p.tls.mode === 'prefer' && e instanceof FlightdeckError && e.code === 'TLS_REFUSED') return connect(p, false);
    throw e;
  }
}

/** Where mysql2 connects and how it secures the connection. */
type Route = Pick<PoolOptions, 'host' | 'port' | 'ssl' | 'stream' | 'enableKeepAlive'>;

/**
 * mysql2 ignores `ssl.servername` and Node's `checkServerIdentity`: with `verifyIdentity` it checks
 * the certificate against its own `host` option, and without it checks no name at all. So for
 * verify-full `host` is the name to verify, and a `stream` factory opens the socket to where it
 * must really go (the tunnel's local end, or the host when the profile sets another TLS name).
 */
function route(p: DriverParams, useTls: boolean): Route {
  if (!useTls) return { host: p.host, port: p.port, enableKeepAlive: true };
  const m = readTlsFiles(p.tls);
  const material: SslOptions = { ...(m.ca ? { ca: m.ca } : {}), ...(m.cert ? { cert: m.cert } : {}), ...(m.key ? { key: m.key } : {}) };
  if (p.tls.mode !== 'verify-full') {
    return { host: p.host, port: p.port, enableKeepAlive: true, ssl: { ...material, rejectUnauthorized: false, verifyIdentity: false } };
  }
  const name = expectedServerName(p);
  return {
    host: name,
    port: p.port,
    ssl: { ...material, rejectUnauthorized: true, verifyIdentity: true },
    // Called once per pooled connection. mysql2 sets keep-alive and no-delay only on sockets it
    // opens itself, so the factory does.
    stream: () => {
      const socket = net.connect(p.port, p.host);
      socket.setNoDelay(true);
      socket.setKeepAlive(true);
      // For an address mysql2 passes Node no server name, and Node then checks the certificate
      // against the socket's `_host`, which net leaves unset for addresses: Node falls back to
      // "localhost", so any certificate for localhost would pass for 10.0.0.5 (or, through a tunnel,
      // the check would be against 127.0.0.1). Naming the expected name there makes Node check it.
      (socket as net.Socket & { _host: string | null })._host = name;
      return socket;
    },
  };
}

async function connect(p: DriverParams, useTls: boolean): Promise<EngineSession> {
  const pool = mysql.createPool({
    ...route(p, useTls),
    user: p.user || undefined,
    password: p.password,
    database: p.database || undefined,
    connectTimeout: p.connectTimeoutMs,
    connectionLimit: p.poolSize,
    maxIdle: p.poolSize,
    idleTimeout: 30_000,
    queueLimit: 100,
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectAttributes: { program_name: applicationName(p.role) },
  });
  const session = new MysqlSession(pool, p);
  try {
    await session.prepareFirst();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw classifyConnectError(e, p.ctx);
  }
  return session;
}

class MysqlSession implements SqlSession {
  readonly engine = 'mysql' as const;
  /** Server connections that already carry Flightdeck's session limits. */
  private readonly prepared = new WeakSet<object>();
  private sessionSql: string[] = [];

  constructor(
    private readonly pool: Pool,
    private readonly p: DriverParams,
  ) {}

  /** Learns the server's flavor on the first connection and derives the session settings from it. */
  async prepareFirst(): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS v');
      const version = String(rows[0]?.v ?? '');
      const lockSeconds = Math.max(1, Math.ceil(this.p.lockTimeoutMs / 1000));
      this.sessionSql = [`SET SESSION lock_wait_timeout = ${lockSeconds}, innodb_lock_wait_timeout = ${lockSeconds}`];
      // MariaDB names the statement limit max_statement_time (seconds, since 10.1); MySQL
      // max_execution_time (milliseconds, SELECT only, since 5.7.8).
      if (/mariadb/i.test(version)) {
        this.sessionSql.push(`SET SESSION max_statement_time = ${this.p.statementTimeoutMs / 1000}`);
      } else if (versionAtLeast(version, [5, 7, 8])) {
        this.sessionSql.push(`SET SESSION max_execution_time = ${this.p.statementTimeoutMs}`);
      }
      await this.prepare(conn);
    } finally {
      conn.release();
    }
  }

  private async prepare(conn: PoolConnection): Promise<void> {
    if (this.prepared.has(conn.connection)) return;
    for (const sql of this.sessionSql) await conn.query(sql);
    this.prepared.add(conn.connection);
  }

  /** A pooled connection with the session limits in force before its first statement. */
  async acquire(): Promise<PoolConnection> {
    const conn = await this.pool.getConnection().catch((e) => {
      throw classifyConnectError(e, this.p.ctx);
    });
    try {
      await this.prepare(conn);
      return conn;
    } catch (e) {
      // A session without its limits must not be used: drop it rather than hand it out.
      conn.destroy();
      throw classifyConnectError(e, this.p.ctx);
    }
  }

  async inspect({ writeProbe }: { writeProbe: boolean }): Promise<Inspection> {
    const conn = await this.acquire();
    try {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT VERSION() AS version, @@version_comment AS comment, CURRENT_USER() AS cu, USER() AS su, DATABASE() AS db, @@global.read_only AS ro',
      );
      const w = rows[0];
      if (!w) throw new FlightdeckError('QUERY_FAILED', 'The server did not answer SELECT VERSION().', 'Check the server log.');
      const [grantRows] = await conn.query<RowDataPacket[]>('SHOW GRANTS');
      const grants = grantRows.map((r) => String(Object.values(r)[0]));
      const [ssl] = await conn.query<RowDataPacket[]>("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')");
      const sslVars = Object.fromEntries(ssl.map((r) => [String(r.Variable_name), String(r.Value ?? '')]));
      const version = String(w.version);
      const readOnly = Number(w.ro) === 1;
      const probe = await this.probe(conn, w.db ? String(w.db) : '', readOnly, writeProbe);
      return {
        engine: 'mysql',
        serverVersion: version,
        versionBanner: `${version} ${String(w.comment ?? '')}`.trim(),
        currentUser: String(w.cu),
        sessionUser: String(w.su),
        database: w.db ? String(w.db) : '',
        attributes: {
          flavor: /mariadb/i.test(version) ? 'MariaDB' : 'MySQL',
          readOnly,
          allPrivileges: grants.some((g) => /GRANT ALL PRIVILEGES ON \*\.\*/i.test(g)),
          super: grants.some((g) => /GRANT .*\bSUPER\b.* ON \*\.\*/i.test(g)),
        },
        grants,
        tls: { enabled: Boolean(sslVars.Ssl_version), ...(sslVars.Ssl_version ? { protocol: sslVars.Ssl_version } : {}), ...(sslVars.Ssl_cipher ? { cipher: sslVars.Ssl_cipher } : {}) },
        probe,
      };
    } catch (e) {
      throw classifyConnectError(e, this.p.ctx);
    } finally {
      conn.release();
    }
  }

  /**
   * MySQL commits DDL implicitly, so a probe table created and dropped could outlive a crash.
   * A TEMPORARY table lives only in this session: it cannot be left behind.
   */
  private async probe(conn: PoolConnection, db: string, readOnly: boolean, writeProbe: boolean): Promise<Inspection['probe']> {
    let readDetail = 'read: no database selected';
    if (db) {
      const [t] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE()');
      readDetail = `read: ${Number(t[0]?.n ?? 0)} tables visible in ${db}`;
    }
    if (!writeProbe) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write probe not run` };
    if (!db) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write: skipped, the profile names no database` };
    if (readOnly) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write: server is read_only` };
    const table = `flightdeck_probe_${probeSuffix()}`;
    let created = false;
    let inTransaction = false;
    try {
      await conn.query(`CREATE TEMPORARY TABLE \`${table}\` (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB`);
      created = true;
      await conn.query('START TRANSACTION');
      inTransaction = true;
      await conn.query(`INSERT INTO \`${table}\` VALUES (1, 'flightdeck write probe')`);
      const [back] = await conn.query<RowDataPacket[]>(`SELECT note FROM \`${table}\` WHERE id = 1`);
      if (back.length !== 1) throw new Error('the inserted row was not read back');
      return { read: 'ok', write: 'ok', detail: `${readDetail}; write: created a temporary table, wrote and read back a row in a rolled-back transaction, dropped it (nothing left behind)` };
    } catch (e) {
      return { read: 'ok', write: 'failed', detail: `${readDetail}; write: ${(e as Error).message}` };
    } finally {
      // The connection goes back to the pool: it must not carry an open transaction or our table.
      if (inTransaction) await conn.query('ROLLBACK').catch(() => undefined);
      if (created) await conn.query(`DROP TEMPORARY TABLE IF EXISTS \`${table}\``).catch(() => undefined);
    }
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    const conn = await this.acquire();
    try {
      const [rows] = await conn.query<RowDataPacket[]>(sql, params);
      return rows as unknown as T[];
    } catch (e) {
      throw classifyConnectError(e, this.p.ctx);
    } finally {
      conn.release();
    }
  }

  async pin(): Promise<PinnedSql> {
    const conn = await this.acquire();
    return {
      processId: conn.threadId,
      query: async <T extends Row = Row>(sql: string, params?: unknown[]) => (await conn.query<RowDataPacket[]>(sql, params))[0] as unknown as T[],
      release: (destroy: boolean) => (destroy ? conn.destroy() : conn.release()),
    };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

function versionAtLeast(version: string, min: [number, number, number]): boolean {
  const parts = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

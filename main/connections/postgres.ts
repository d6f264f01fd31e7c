// PostgreSQL through node-postgres: a bounded pool whose every session carries
// application_name, statement_timeout and lock_timeout, and an inspection of who we are.
import net from 'node:net';
import pg from 'pg';
import { FlightdeckError } from '../../shared/errors';
import { applicationName, nodeTlsOptions, probeSuffix, type DriverParams, type EngineSession, type Inspection, type PinnedSql, type Row, type SqlSession } from './adapter';
import { classifyConnectError } from './errors';

export async function openPostgres(p: DriverParams): Promise<EngineSession> {
  if (p.tls.mode === 'disable') return connect(p, false);
  try {
    return await connect(p, nodeTlsOptions(p));
  } catch (e) {
    // libpq's "prefer": fall back to plain only when the server says it has no TLS at all.
    if (p.tls.mode === 'prefer' && e instanceof FlightdeckError && e.code === 'TLS_REFUSED') return connect(p, false);
    throw e;
  }
}

async function connect(p: DriverParams, ssl: false | ReturnType<typeof nodeTlsOptions>): Promise<EngineSession> {
  // node-postgres leaves a client's socket open when its own password callback fails (the server
  // is still waiting for the password), so the first connection's sockets are tracked and
  // destroyed if that connection fails.
  const sockets = new Set<net.Socket>();
  const pool = new pg.Pool({
    stream: () => {
      const socket = new net.Socket();
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      return socket;
    },
    host: p.host,
    port: p.port,
    database: p.database || undefined,
    user: p.user || undefined,
    // A function, so the driver asks for the password only when the server does, and never falls
    // back to $PGPASSWORD or ~/.pgpass: a profile sends its own secret or none.
    password: () => {
      if (p.password === undefined) {
        throw new FlightdeckError('SECRET_MISSING', `PostgreSQL at ${p.ctx.target} asks for a password and none is stored for user "${p.user}".`, 'Set the password in the profile, or provide it in the environment.');
      }
      return p.password;
    },
    ssl,
    max: p.poolSize,
    connectionTimeoutMillis: p.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: applicationName(p.role),
    statement_timeout: p.statementTimeoutMs,
    lock_timeout: p.lockTimeoutMs,
    // A Flightdeck session never sits idle inside a transaction holding locks.
    idle_in_transaction_session_timeout: Math.max(p.statementTimeoutMs, 60_000),
  });
  // An idle client that dies (server restart, tunnel drop) must not crash the process; the next
  // checkout reconnects.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    for (const socket of sockets) socket.destroy();
    throw classifyConnectError(e, p.ctx);
  }
  return new PostgresSession(pool, p);
}

class PostgresSession implements SqlSession {
  readonly engine = 'postgres' as const;
  constructor(
    private readonly pool: pg.Pool,
    private readonly p: DriverParams,
  ) {}

  async inspect({ writeProbe }: { writeProbe: boolean }): Promise<Inspection> {
    const client = await this.pool.connect().catch((e) => {
      throw classifyConnectError(e, this.p.ctx);
    });
    try {
      const who = await client.query<{
        banner: string; version: string; current_user: string; session_user: string; db: string; in_recovery: boolean;
        rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolreplication: boolean; rolbypassrls: boolean;
        rolinherit: boolean; rolconnlimit: number; member_of: string | null;
        db_connect: boolean; db_create: boolean; db_temp: boolean;
        ssl: boolean | null; ssl_version: string | null; ssl_cipher: string | null;
      }>(`
        select version() as banner, current_setting('server_version') as version,
               current_user, session_user, current_database() as db, pg_is_in_recovery() as in_recovery,
               r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolinherit, r.rolconnlimit,
               (select string_agg(g.rolname, ', ' order by g.rolname)
                  from pg_auth_members m join pg_roles g on g.oid = m.roleid
                 where m.member = r.oid) as member_of,
               has_database_privilege(current_database(), 'CONNECT') as db_connect,
               has_database_privilege(current_database(), 'CREATE') as db_create,
               has_database_privilege(current_database(), 'TEMPORARY') as db_temp,
               s.ssl, s.version as ssl_version, s.cipher as ssl_cipher
          from pg_roles r
          left join pg_stat_ssl s on s.pid = pg_backend_pid()
         where r.rolname = current_user`);
      const w = who.rows[0];
      if (!w) throw new FlightdeckError('QUERY_FAILED', 'The server did not return the current role.', 'Check that pg_roles is readable by this user.');
      const schemas = await client.query<{ nspname: string; usage: boolean; create: boolean }>(`
        select n.nspname, has_schema_privilege(n.oid, 'USAGE') as usage, has_schema_privilege(n.oid, 'CREATE') as create
          from pg_namespace n
         where n.nspname = any (current_schemas(false))
         order by array_position(current_schemas(false), n.nspname)`);

      const dbPrivs = [w.db_connect && 'CONNECT', w.db_create && 'CREATE', w.db_temp && 'TEMPORARY'].filter(Boolean).join(', ') || 'none';
      const grants = [`database ${w.db}: ${dbPrivs}`];
      for (const s of schemas.rows) {
        grants.push(`schema ${s.nspname}: ${[s.usage && 'USAGE', s.create && 'CREATE'].filter(Boolean).join(', ') || 'none'}`);
      }
      if (w.member_of) grants.push(`member of: ${w.member_of}`);

      const probe = await this.probe(client, w.in_recovery, schemas.rows, writeProbe);
      return {
        engine: 'postgres',
        serverVersion: w.version,
        versionBanner: w.banner,
        currentUser: w.current_user,
        sessionUser: w.session_user,
        database: w.db,
        attributes: {
          superuser: w.rolsuper,
          createrole: w.rolcreaterole,
          createdb: w.rolcreatedb,
          replication: w.rolreplication,
          bypassrls: w.rolbypassrls,
          inherit: w.rolinherit,
          connectionLimit: w.rolconnlimit,
        },
        grants,
        inRecovery: w.in_recovery,
        tls: { enabled: w.ssl === true, ...(w.ssl_version ? { protocol: w.ssl_version } : {}), ...(w.ssl_cipher ? { cipher: w.ssl_cipher } : {}) },
        probe,
      };
    } catch (e) {
      throw classifyConnectError(e, this.p.ctx);
    } finally {
      client.release();
    }
  }

  /**
   * Read: count the relations the user can see. Write: create a table, insert and read a row, all
   * inside a transaction that is rolled back, so nothing is left behind even if the session dies.
   */
  private async probe(client: pg.PoolClient, inRecovery: boolean, schemas: { nspname: string; create: boolean }[], writeProbe: boolean): Promise<Inspection['probe']> {
    const seen = await client.query<{ n: string }>(`select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r','p','v','m') and n.nspname not in ('pg_catalog','information_schema') and has_table_privilege(c.oid, 'SELECT')`);
    const readDetail = `read: ${seen.rows[0]?.n ?? 0} readable tables and views`;
    if (!writeProbe) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write probe not run` };
    if (inRecovery) return { read: 'ok', write: 'skipped', detail: `${readDetail}; write: server is a read-only standby (in recovery)` };
    const target = schemas.find((s) => s.create);
    if (!target) {
      return { read: 'ok', write: 'failed', detail: `${readDetail}; write: no CREATE privilege on any schema in search_path (${schemas.map((s) => s.nspname).join(', ') || 'empty'})` };
    }
    const table = `${quoteIdent(target.nspname)}.${quoteIdent(`flightdeck_probe_${probeSuffix()}`)}`;
    try {
      await client.query('begin');
      await client.query(`create table ${table} (id int primary key, note text)`);
      await client.query(`insert into ${table} values (1, 'flightdeck write probe')`);
      const back = await client.query(`select note from ${table} where id = 1`);
      if (back.rowCount !== 1) throw new Error('the inserted row was not read back');
      return { read: 'ok', write: 'ok', detail: `${readDetail}; write: created, wrote and read back a table in schema ${target.nspname} inside a transaction, then rolled it back (nothing left behind)` };
    } catch (e) {
      return { read: 'ok', write: 'failed', detail: `${readDetail}; write: ${(e as Error).message}` };
    } finally {
      await client.query('rollback').catch(() => undefined);
    }
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query<T>(sql, params)).rows;
    } catch (e) {
      throw classifyConnectError(e, this.p.ctx);
    }
  }

  async pin(): Promise<PinnedSql> {
    const client = await this.pool.connect().catch((e) => {
      throw classifyConnectError(e, this.p.ctx);
    });
    return {
      processId: (client as pg.PoolClient & { processID: number }).processID,
      query: async <T extends Row = Row>(sql: string, params?: unknown[]) => (await client.query<T>(sql, params)).rows,
      release: (destroy: boolean) => client.release(destroy),
    };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

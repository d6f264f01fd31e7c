// PgBouncer's admin console (the special database `pgbouncer`): opening it (directly or through
// the profile's SSH tunnel) and reading what SHOW POOLS and SHOW DATABASES say. Phase 0's pool
// check and the live Pool panel both read the pooler through here.
//
// The console speaks only the simple query protocol: every statement here goes through
// node-postgres' client.query(text) without parameters, which sends a single Query message.
import net from 'node:net';
import pg from 'pg';
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import { applicationName, nodeTlsOptions, type DriverParams } from './adapter';
import type { ResolvedSecrets } from './connect';
import { classifyConnectError, type ConnectContext } from './errors';
import type { HostKeyPolicy } from './ssh/host-keys';
import { openTunnel, type SshTunnel } from './ssh/tunnel';

/** PgBouncer's admin console in front of a PostgreSQL database. The secrets go only to the
 * pooler: never into a log, a command line or a check's evidence. */
export interface PgBouncerConsole {
  /** host, port, user, database `pgbouncer`, TLS, and the SSH tunnel when there is one. */
  profile: Profile;
  /** dbPassword for the console user; SSH secrets when the profile has a tunnel. */
  secrets: ResolvedSecrets;
  /** What an SSH tunnel to the pooler checks host keys against (only needed with profile.ssh). */
  hostKeys?: HostKeyPolicy;
}

/** The admin console is this special database on every PgBouncer. */
export const pgbouncerAdminDatabase = 'pgbouncer';
/** PgBouncer's default listen_port, for a URL that names none. */
export const pgbouncerDefaultPort = 6432;

/** Refuses a profile that cannot be a PgBouncer admin console, before anything connects. */
export function assertPgbouncerConsoleProfile(profile: Profile, what: string): void {
  if (profile.engine !== 'postgres') {
    throw new FlightdeckError('INVALID_INPUT', `${what} is a ${profile.engine} profile; PgBouncer speaks the PostgreSQL protocol.`, `Give PgBouncer's admin console as postgres://user@host:${pgbouncerDefaultPort}/${pgbouncerAdminDatabase}.`);
  }
  if (profile.database !== pgbouncerAdminDatabase) {
    throw new FlightdeckError(
      'INVALID_INPUT',
      `${what} names database "${profile.database}", not PgBouncer's admin console "${pgbouncerAdminDatabase}".`,
      `Point it at the special database ${pgbouncerAdminDatabase} of the pooler, e.g. postgres://user@host:${pgbouncerDefaultPort}/${pgbouncerAdminDatabase}, with a user listed in admin_users or stats_users.`,
    );
  }
}

/** Refuses a pooler attachment that cannot work: the database must be PostgreSQL, the pooler a
 * saved profile of a PgBouncer admin console, and not the database itself. */
export async function assertPoolerAttachable(profile: Pick<Profile, 'id' | 'name' | 'engine' | 'pgbouncerProfileId'>, get: (id: string) => Promise<Profile>): Promise<void> {
  const id = profile.pgbouncerProfileId;
  if (!id) return;
  if (profile.engine !== 'postgres') {
    throw new FlightdeckError('INVALID_INPUT', `PgBouncer pools PostgreSQL connections; ${profile.name} is a ${profile.engine} profile.`, 'Leave the PgBouncer field empty for this profile.');
  }
  if (id === profile.id) throw new FlightdeckError('INVALID_INPUT', `${profile.name} cannot be its own PgBouncer.`, 'Pick the saved profile of the pooler\'s admin console.');
  let pooler: Profile;
  try {
    pooler = await get(id);
  } catch {
    throw new FlightdeckError('INVALID_INPUT', `The PgBouncer profile attached to ${profile.name} does not exist (any more).`, 'Pick another saved PgBouncer admin-console profile, or clear the field.');
  }
  assertPgbouncerConsoleProfile(pooler, `The PgBouncer profile "${pooler.name}"`);
}

export interface Console {
  address: string;
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function openConsole(target: PgBouncerConsole): Promise<Console> {
  const { profile, secrets } = target;
  assertPgbouncerConsoleProfile(profile, 'The PgBouncer profile');
  const address = `${profile.host}:${profile.port}`;
  const sshLabel = profile.ssh ? `${profile.ssh.user}@${profile.ssh.host}:${profile.ssh.port}` : undefined;
  let tunnel: SshTunnel | undefined;
  if (profile.ssh) {
    if (!target.hostKeys) throw new FlightdeckError('INTERNAL', 'The PgBouncer profile goes through SSH but no host key policy was given.', 'This is a bug in Flightdeck; the check verified nothing.');
    tunnel = await openTunnel({
      ssh: profile.ssh,
      secrets: { password: secrets.sshPassword, passphrase: secrets.sshPassphrase, jumpPassword: secrets.jumpPassword, jumpPassphrase: secrets.jumpPassphrase },
      target: { host: profile.host, port: profile.port },
      hostKeys: target.hostKeys,
      connectTimeoutMs: profile.connectTimeoutMs,
      reconnect: { maxAttempts: 0 },
    });
  }
  const ctx: ConnectContext = { engine: 'postgres', target: address, database: pgbouncerAdminDatabase, user: profile.user, viaSsh: sshLabel, timeoutMs: profile.connectTimeoutMs };
  const params: DriverParams = {
    host: tunnel ? '127.0.0.1' : profile.host,
    port: tunnel ? tunnel.localPort : profile.port,
    database: pgbouncerAdminDatabase,
    user: profile.user,
    password: secrets.dbPassword,
    tls: profile.tls,
    tlsServerName: profile.host,
    connectTimeoutMs: profile.connectTimeoutMs,
    role: 'connect',
    statementTimeoutMs: 0,
    lockTimeoutMs: 0,
    poolSize: 1,
    tunnelled: Boolean(tunnel),
    ctx,
  };
  const connect = async (ssl: false | ReturnType<typeof nodeTlsOptions>): Promise<pg.Client> => {
    // As in the PostgreSQL adapter: node-postgres leaves the socket open when its password
    // callback throws, so the socket is tracked and destroyed on failure.
    let socket: net.Socket | undefined;
    const client = new pg.Client({
      stream: () => (socket = new net.Socket()),
      host: params.host,
      port: params.port,
      database: pgbouncerAdminDatabase,
      user: profile.user || undefined,
      // Only the profile's own secret, never $PGPASSWORD or ~/.pgpass.
      password: () => {
        if (params.password === undefined) {
          throw new FlightdeckError('SECRET_MISSING', `PgBouncer at ${address} asks for a password and none was given for user "${profile.user}".`, 'Give it in FLIGHTDECK_PGBOUNCER_PASSWORD (CLI) or store it with the PgBouncer profile.');
        }
        return params.password;
      },
      ssl,
      connectionTimeoutMillis: profile.connectTimeoutMs,
      keepAlive: true,
      application_name: applicationName('connect'),
      // The console refuses startup parameters it does not know (statement_timeout, options…),
      // so none are sent, not even $PGOPTIONS.
      options: '',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (e) {
      socket?.destroy();
      await client.end().catch(() => undefined);
      throw classifyConnectError(e, ctx);
    }
  };
  let client: pg.Client;
  try {
    if (profile.tls.mode === 'disable') client = await connect(false);
    else {
      try {
        client = await connect(nodeTlsOptions(params));
      } catch (e) {
        // libpq's "prefer": plain only when the pooler has no TLS at all (client_tls_sslmode = disable).
        if (!(profile.tls.mode === 'prefer' && e instanceof FlightdeckError && e.code === 'TLS_REFUSED')) throw e;
        client = await connect(false);
      }
    }
  } catch (e) {
    await tunnel?.close();
    throw consoleError(e, address);
  }
  return {
    address: `${profile.user}@${address}/${pgbouncerAdminDatabase}${sshLabel ? ` through SSH ${sshLabel}` : ''}`,
    async query(sql) {
      try {
        // No parameters: the simple query protocol, the only one the console understands.
        return (await client.query(sql)).rows as Record<string, unknown>[];
      } catch (e) {
        throw consoleError(classifyConnectError(e, ctx), address, sql);
      }
    },
    async close() {
      await client.end().catch(() => undefined);
      await tunnel?.close();
    },
  };
}

function consoleError(e: unknown, address: string, sql?: string): FlightdeckError {
  const err = e instanceof FlightdeckError ? e : classifyConnectError(e, { engine: 'postgres', target: address, database: pgbouncerAdminDatabase });
  const raw = String((err.details?.driverMessage as string | undefined) ?? err.message);
  if (/not allowed|admin access needed/i.test(raw)) {
    return new FlightdeckError('PERMISSION_DENIED', `PgBouncer at ${address} does not let this user use its admin console${sql ? ` (${sql})` : ''}.`, 'List the user in PgBouncer\'s admin_users or stats_users, then RELOAD (or restart) the pooler.', err.details);
  }
  if (/unsupported startup parameter/i.test(raw)) {
    return new FlightdeckError('QUERY_FAILED', `PgBouncer at ${address} refused a startup parameter: ${raw}`, 'Add the parameter named above to ignore_startup_parameters in pgbouncer.ini.', err.details);
  }
  return new FlightdeckError(err.code, `PgBouncer's admin console${sql ? `, ${sql}` : ''}: ${err.message}`, err.hint, err.details);
}

// ---- what the console says ---------------------------------------------------------------------

export interface Pool {
  database: string;
  user: string;
  clActive: number;
  clWaiting: number;
  svActive: number;
  svIdle: number;
  svUsed: number;
  svTested: number;
  svLogin: number;
  /** Seconds the oldest waiting client has waited (maxwait + maxwait_us). */
  maxwait: number;
  mode: string;
}

export interface DbEntry {
  name: string;
  database: string;
  host: string;
  port: string;
  poolSize: number;
  reservePool: number;
  mode: string | null;
  maxConnections: number;
  currentConnections: number;
  paused: boolean;
  disabled: boolean;
}

export const num = (v: unknown): number => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
};
export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export function pools(rows: Record<string, unknown>[]): Pool[] {
  return rows.map((r) => ({
    database: str(r.database),
    user: str(r.user),
    clActive: num(r.cl_active),
    clWaiting: num(r.cl_waiting),
    svActive: num(r.sv_active),
    svIdle: num(r.sv_idle),
    svUsed: num(r.sv_used),
    svTested: num(r.sv_tested),
    svLogin: num(r.sv_login),
    maxwait: num(r.maxwait) + num(r.maxwait_us) / 1e6,
    mode: str(r.pool_mode),
  }));
}

export function databases(rows: Record<string, unknown>[]): DbEntry[] {
  return rows.map((r) => ({
    name: str(r.name),
    database: str(r.database),
    host: str(r.host),
    port: str(r.port),
    poolSize: num(r.pool_size),
    // reserve_pool before PgBouncer 1.24, reserve_pool_size since.
    reservePool: num(r.reserve_pool ?? r.reserve_pool_size),
    mode: r.pool_mode === null || r.pool_mode === undefined || r.pool_mode === '' ? null : String(r.pool_mode),
    maxConnections: num(r.max_connections),
    currentConnections: num(r.current_connections),
    paused: num(r.paused) !== 0,
    disabled: num(r.disabled) !== 0,
  }));
}

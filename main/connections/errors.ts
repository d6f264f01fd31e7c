// Turns what drivers, sockets and TLS throw into one FlightdeckError per cause, with a hint a DBA
// can act on. The drivers' messages are kept (redacted) so nothing the server said is lost.
import { FlightdeckError } from '../../shared/errors';
import type { Engine } from '../../shared/profile';
import { redact } from '../log';

export interface ConnectContext {
  engine: Engine;
  /** host:port as the user configured it (not the tunnel's local port). */
  target: string;
  database?: string;
  user?: string;
  viaSsh?: string;
  timeoutMs?: number;
}

interface DriverError {
  code?: string | number;
  errno?: number;
  message?: string;
  name?: string;
  cause?: unknown;
  reason?: unknown;
}

const networkCodes = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'];

/** The first Node network error code found on the error or its causes (drivers wrap them). */
function networkCode(e: DriverError, depth = 0): string | undefined {
  if (!e || depth > 5) return undefined;
  if (typeof e.code === 'string' && networkCodes.includes(e.code)) return e.code;
  const m = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET)\b/.exec(e.message ?? '');
  if (m) return m[1];
  for (const next of [e.cause, e.reason]) {
    if (next && typeof next === 'object') {
      const found = networkCode(next as DriverError, depth + 1);
      if (found) return found;
    }
  }
  if (e.reason && typeof e.reason === 'object' && 'servers' in e.reason) {
    // MongoDB's TopologyDescription keeps each server's last error.
    const servers = (e.reason as { servers: Map<string, { error?: DriverError }> }).servers;
    for (const s of servers?.values?.() ?? []) {
      const found = s.error ? networkCode(s.error, depth + 1) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

function via(ctx: ConnectContext): string {
  return ctx.viaSsh ? ` through SSH ${ctx.viaSsh}` : '';
}

export function classifyConnectError(err: unknown, ctx: ConnectContext): FlightdeckError {
  if (err instanceof FlightdeckError) return err;
  const e = (err ?? {}) as DriverError;
  // Classify on what the driver said; show only its redacted form.
  const raw = String(e.message ?? err);
  const msg = redact(raw);
  const who = ctx.user ? `user "${ctx.user}"` : 'the user';
  const engineName = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB', mongodb: 'MongoDB' }[ctx.engine];
  const details = { driverMessage: msg, ...(e.code !== undefined ? { driverCode: String(e.code) } : {}) };

  // TLS first: its failures also surface as generic connection errors.
  if (/does not support SSL|HANDSHAKE_NO_SSL_SUPPORT|server does not support secure connection|SSL is not enabled on the server|Server does not support SSL/i.test(raw) || e.code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return new FlightdeckError('TLS_REFUSED', `${engineName} at ${ctx.target} does not accept TLS, and this profile requires it.`, 'Enable TLS on the server, or set the profile\'s TLS mode to "prefer" or "disable" if plain connections are acceptable on this network.', details);
  }
  if (/self[- ]signed certificate|unable to verify the first certificate|unable to get local issuer|certificate has expired|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME_INVALID|CERT_|wrong version number|SSL routines/i.test(raw)) {
    return new FlightdeckError('TLS_FAILED', `TLS with ${ctx.target} failed: ${msg}`, 'Check the CA file and server name in the profile\'s TLS settings, or use mode "require" to encrypt without verifying the certificate.', details);
  }

  const code = e.code;
  // A session that was established and then ended by the server (restart, pg_terminate_backend,
  // KILL) or the network: the pool must reconnect, and a monitor shows the target as stale.
  if (['57P01', '57P02', '57P03', 'PROTOCOL_CONNECTION_LOST'].includes(String(code)) || /Connection terminated unexpectedly|terminating connection due to|Connection lost: The server closed the connection/i.test(raw)) {
    return new FlightdeckError('CONNECTION_LOST', `The connection to ${ctx.target} was closed by the server or the network${via(ctx)}: ${msg}`, 'The server may be restarting, or someone ended this session; Flightdeck reconnects on the next use.', details);
  }
  // Statement-level limits first: their messages mention time-outs, but the connection is fine.
  if (code === '55P03' || code === 'ER_LOCK_WAIT_TIMEOUT' || /Lock wait timeout exceeded/i.test(raw)) {
    return new FlightdeckError('LOCK_TIMEOUT', `A lock was not granted in time on ${ctx.target}: ${msg}`, 'Another session holds a conflicting lock; find it in the locks panel (or pg_locks / performance_schema.data_lock_waits), or retry later.', details);
  }
  if ((code === '57014' && /statement timeout/i.test(raw)) || code === 'ER_QUERY_TIMEOUT' || code === 'ER_STATEMENT_TIMEOUT' || /maximum statement execution time exceeded|max_statement_time exceeded/i.test(raw)) {
    return new FlightdeckError('QUERY_TIMEOUT', `A statement ran past Flightdeck's statement time limit on ${ctx.target}: ${msg}`, 'The server is slow or the statement is heavy; retry, or run it in a migration with a longer statement_timeout.', details);
  }
  if (code === '57014') {
    return new FlightdeckError('CANCELLED', `The statement was cancelled on ${ctx.target}: ${msg}`, 'Someone cancelled it (pg_cancel_backend, or Flightdeck on your request); run it again if it is still needed.', details);
  }
  if (code === 'ER_DBACCESS_DENIED_ERROR') {
    return new FlightdeckError('PERMISSION_DENIED', `${who} may not use database "${ctx.database ?? ''}" on ${ctx.target}, or it may not exist (MySQL does not say which to users without rights on it).`, 'Check the database name, then ask the DBA for GRANT … ON `db`.* to this user.', details);
  }
  // A password the server needed but was never given: say so rather than "wrong password".
  if (/client password must be a string|\(using password: NO\)|requires authentication|AuthContext must provide credentials/i.test(raw)) {
    return new FlightdeckError('SECRET_MISSING', `${engineName} at ${ctx.target} asks for credentials and none are stored for ${who}.`, 'Set the user and password in the profile, or provide the password in the environment.', details);
  }
  if (code === '28P01' || code === 'ER_ACCESS_DENIED_ERROR' || code === 18 || /password authentication failed|Authentication failed|Access denied for user/i.test(raw)) {
    return new FlightdeckError('AUTH_FAILED', `${engineName} at ${ctx.target} rejected the credentials of ${who}.`, 'Check the user name and password stored with the profile (or the FLIGHTDECK_SECRET_* / PGPASSWORD variable).', details);
  }
  if (code === '28000' && /role .* does not exist/i.test(raw)) {
    return new FlightdeckError('AUTH_FAILED', `${engineName} at ${ctx.target} has no role named "${ctx.user ?? ''}".`, 'Check the user name in the profile; roles are case-sensitive when created with quotes.', details);
  }
  if (code === '28000') {
    return new FlightdeckError('AUTH_FAILED', `${engineName} at ${ctx.target} refused ${who}: ${msg}`, 'The server\'s pg_hba.conf has no entry for this user, database, address and TLS mode; ask the DBA to add one, or try another TLS mode.', details);
  }
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR' || /database ".*" does not exist|Unknown database/i.test(raw)) {
    return new FlightdeckError('DATABASE_NOT_FOUND', `Database "${ctx.database ?? ''}" does not exist on ${ctx.target}.`, 'Check the database name in the profile; list databases with \\l (psql) or SHOW DATABASES.', details);
  }
  if (code === '42501' || code === 13 || /permission denied|not authorized/i.test(raw)) {
    return new FlightdeckError('PERMISSION_DENIED', `${who} may not do this on ${ctx.target}: ${msg}`, 'Ask the DBA to grant the privilege named above, or use a profile with a more privileged user.', details);
  }

  switch (networkCode(e)) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new FlightdeckError('HOST_NOT_FOUND', `The host name in ${ctx.target} does not resolve${via(ctx)}.`, 'Check the host name for typos, your DNS or VPN; through SSH, the name must resolve on the SSH server.', details);
    case 'ECONNREFUSED':
      return new FlightdeckError('CONNECTION_REFUSED', `Nothing accepts connections at ${ctx.target}${via(ctx)}.`, `Check the port (${engineName}'s default is ${{ postgres: 5432, mysql: 3306, mongodb: 27017 }[ctx.engine]}) and that the server is running and listening on that address.`, details);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new FlightdeckError('HOST_UNREACHABLE', `${ctx.target} cannot be reached from here${via(ctx)}.`, 'Check the network route, VPN or firewall, or connect through an SSH bastion that can reach it.', details);
    case 'ETIMEDOUT':
      return timeoutError(ctx, details);
    default:
      break;
  }
  if (/timeout|timed out|Server selection timed out/i.test(raw)) return timeoutError(ctx, details);
  if (/ECONNRESET|socket hang up/i.test(raw)) {
    return new FlightdeckError('CONNECTION_REFUSED', `${ctx.target} closed the connection during the handshake${via(ctx)}: ${msg}`, `Check that ${ctx.target} is a ${engineName} server and that the port is right.`, details);
  }
  return new FlightdeckError('QUERY_FAILED', `${engineName} at ${ctx.target}: ${msg}`, 'See the server\'s message above; the server log may say more.', details);
}

function timeoutError(ctx: ConnectContext, details: Record<string, unknown>): FlightdeckError {
  const after = ctx.timeoutMs ? ` within ${ctx.timeoutMs} ms` : '';
  return new FlightdeckError('CONNECT_TIMEOUT', `${ctx.target} did not answer${after}${via(ctx)}.`, 'A firewall may be dropping packets, or the server is overloaded; check the host and port, or raise the connect timeout in the profile.', details);
}

/** Whatever reached a transport becomes a FlightdeckError; unknown failures are INTERNAL. */
export function toFlightdeckError(e: unknown): FlightdeckError {
  if (e instanceof FlightdeckError) return e;
  const message = redact(e instanceof Error ? e.message : String(e));
  return new FlightdeckError('INTERNAL', message, 'This is a bug in Flightdeck; the log has the details.');
}

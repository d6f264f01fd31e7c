// Connection URLs as DBAs type them (postgres://, mysql://, mongodb://) turned into a profile.
// The URL's password, if any, comes back separately: it never enters the profile.
import { FlightdeckError } from '../../shared/errors';
import { defaultPorts, profileSchema, type Engine, type Environment, type Profile, type TlsOptions } from '../../shared/profile';

const schemes: Record<string, Engine> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
  'mongodb:': 'mongodb',
  'mongodb+srv:': 'mongodb',
};

export interface ParsedUrl {
  profile: Profile;
  password?: string;
}

export function profileFromUrl(raw: string, opts: { id?: string; name?: string; environment?: Environment } = {}): ParsedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FlightdeckError(
      'URL_INVALID',
      `"${redactUrl(raw)}" is not a connection URL.`,
      'Write it as engine://user@host:port/database, e.g. postgres://app@db.example.com:5432/shop; percent-encode special characters in a password (/ as %2F, @ as %40), or leave the password out and give it in the environment.',
    );
  }
  const engine = schemes[url.protocol];
  if (!engine) {
    throw new FlightdeckError('ENGINE_UNSUPPORTED', `Flightdeck does not support "${url.protocol.replace(/:$/, '')}" connections.`, 'Use postgres://, postgresql://, mysql://, mariadb://, mongodb:// or mongodb+srv://.');
  }
  if (!url.hostname) {
    throw new FlightdeckError('URL_INVALID', `The URL "${redactUrl(raw)}" has no host.`, 'Write it as engine://user@host:port/database.');
  }
  const port = url.port ? Number(url.port) : defaultPorts[engine];
  const q = url.searchParams;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const candidate = {
    id: opts.id ?? 'cli',
    name: opts.name ?? `${host}:${port}`,
    engine,
    environment: opts.environment ?? 'production',
    host,
    port,
    database,
    user: decodeURIComponent(url.username),
    tls: tlsFromQuery(engine, q),
    connectTimeoutMs: q.get('connect_timeout') ? Number(q.get('connect_timeout')) * 1000 : 10_000,
    ...(engine === 'mongodb'
      ? {
          mongo: {
            authSource: q.get('authSource') ?? undefined,
            replicaSet: q.get('replicaSet') ?? undefined,
            directConnection: q.has('directConnection') ? q.get('directConnection') === 'true' : undefined,
            srv: url.protocol === 'mongodb+srv:' || undefined,
          },
        }
      : {}),
  };
  const parsed = profileSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FlightdeckError('URL_INVALID', `The URL "${redactUrl(raw)}" is not valid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}.`, 'Check the port (1–65535) and the query options.');
  }
  return { profile: parsed.data, ...(url.password ? { password: decodeURIComponent(url.password) } : {}) };
}

function tlsFromQuery(engine: Engine, q: URLSearchParams): TlsOptions {
  const files = {
    caFile: q.get('sslrootcert') ?? q.get('ssl-ca') ?? q.get('tlsCAFile') ?? undefined,
    certFile: q.get('sslcert') ?? q.get('ssl-cert') ?? q.get('tlsCertificateKeyFile') ?? undefined,
    keyFile: q.get('sslkey') ?? q.get('ssl-key') ?? undefined,
  };
  let mode: TlsOptions['mode'] = engine === 'mongodb' ? 'disable' : 'prefer';
  if (engine === 'postgres') {
    const sslmode = q.get('sslmode');
    if (sslmode) {
      // verify-ca is treated as verify-full: Flightdeck never skips the host name check when it verifies.
      const map: Record<string, TlsOptions['mode']> = { disable: 'disable', allow: 'prefer', prefer: 'prefer', require: 'require', 'verify-ca': 'verify-full', 'verify-full': 'verify-full' };
      const m = map[sslmode];
      if (!m) throw new FlightdeckError('URL_INVALID', `sslmode=${sslmode} is not a PostgreSQL sslmode.`, 'Use disable, allow, prefer, require, verify-ca or verify-full.');
      mode = m;
    }
  } else if (engine === 'mysql') {
    const sslMode = (q.get('ssl-mode') ?? q.get('sslMode') ?? '').toUpperCase();
    if (sslMode) {
      const map: Record<string, TlsOptions['mode']> = { DISABLED: 'disable', PREFERRED: 'prefer', REQUIRED: 'require', VERIFY_CA: 'verify-full', VERIFY_IDENTITY: 'verify-full' };
      const m = map[sslMode];
      if (!m) throw new FlightdeckError('URL_INVALID', `ssl-mode=${sslMode} is not a MySQL ssl-mode.`, 'Use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY.');
      mode = m;
    }
  } else {
    const tls = q.get('tls') ?? q.get('ssl');
    if (tls === 'true') mode = q.get('tlsAllowInvalidCertificates') === 'true' || q.get('tlsInsecure') === 'true' ? 'require' : 'verify-full';
    if (q.get('tlsCAFile')) mode = 'verify-full';
  }
  return { mode, ...Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) };
}

/**
 * The URL with its password replaced, for messages and logs. The user info ends at the last '@'
 * before the query, so a password with '/' or '@' in it (typed without percent-encoding) is still
 * hidden whole.
 */
export function redactUrl(raw: string): string {
  const start = raw.indexOf('://');
  if (start < 0) return raw.includes('@') ? '***' : raw;
  const rest = raw.slice(start + 3);
  const end = rest.search(/[?#]/);
  const authorityAndPath = end < 0 ? rest : rest.slice(0, end);
  const at = authorityAndPath.lastIndexOf('@');
  if (at < 0) return raw;
  const userinfo = authorityAndPath.slice(0, at);
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  return `${raw.slice(0, start + 3)}${user}${colon < 0 ? '' : ':***'}${rest.slice(at)}`;
}

// What every engine adapter offers the connection manager: open a bounded pool with Flightdeck's
// safety settings, inspect who we are and what we may do, close.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Db, MongoClient } from 'mongodb';
import type { TestResult } from '../../shared/api';
import { FlightdeckError } from '../../shared/errors';
import type { Engine, Profile, TlsOptions } from '../../shared/profile';
import type { ConnectContext } from './errors';

/** Why a session is open; it becomes application_name `flightdeck/<role>` on the server. */
export type SessionRole = 'connect' | 'console' | 'monitor' | 'migration';

export interface DriverParams {
  /** Where the socket actually goes: the tunnel's local end, or the profile's host. */
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  tls: TlsOptions;
  /** Name the server certificate must carry (the profile's host, even through a tunnel). */
  tlsServerName: string;
  connectTimeoutMs: number;
  role: SessionRole;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  poolSize: number;
  mongo?: Profile['mongo'];
  /** Through an SSH tunnel the driver must not try to discover other hosts. */
  tunnelled: boolean;
  ctx: ConnectContext;
}

export type Inspection = Omit<TestResult, 'via' | 'latencyMs'>;

export type Row = Record<string, unknown>;

export interface EngineSession {
  readonly engine: Engine;
  inspect(opts: { writeProbe: boolean }): Promise<Inspection>;
  close(): Promise<void>;
}

/** SQL engines run statements on a pooled session that carries Flightdeck's limits. */
export interface SqlSession extends EngineSession {
  readonly engine: 'postgres' | 'mysql';
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** One server session held for a caller that needs session state: transactions, session locks. */
  pin(): Promise<PinnedSql>;
}

/** A single server session taken out of the pool. */
export interface PinnedSql {
  /** The server's id for the session (PostgreSQL backend pid, MySQL connection id). */
  readonly processId: number;
  /** Driver errors come through unchanged, so callers see the SQLSTATE, errno and position. */
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Gives the session back; destroy it when its state (settings, locks) must not be reused. */
  release(destroy: boolean): void;
}

export function isSqlSession(s: EngineSession): s is SqlSession {
  return s.engine === 'postgres' || s.engine === 'mysql';
}

/** MongoDB sessions hand out the driver itself: migrate-mongo migrations are functions of (db, client). */
export interface MongoDbSession extends EngineSession {
  readonly engine: 'mongodb';
  /** The driver's client and the profile's database; throws INVALID_INPUT when the profile names none. */
  mongo(): { client: MongoClient; db: Db };
  /** The driver's client, for server-wide commands (admin database) that need no database named. */
  client(): MongoClient;
  /** The profile's database ('' when it names none). */
  readonly database: string;
}

export function isMongoSession(s: EngineSession): s is MongoDbSession {
  return s.engine === 'mongodb';
}

export const sessionDefaults = { statementTimeoutMs: 30_000, lockTimeoutMs: 2_000, poolSize: 4 };

export function applicationName(role: SessionRole): string {
  return `flightdeck/${role}`;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads the CA, certificate and key files a profile names; a missing file is the user's to fix. */
export function readTlsFiles(tls: TlsOptions): TlsMaterial {
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new FlightdeckError('TLS_FAILED', `Cannot read the TLS ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, 'Check the path in the profile\'s TLS settings and that Flightdeck may read it.');
    }
  };
  return { ca: read(tls.caFile, 'CA'), cert: read(tls.certFile, 'certificate'), key: read(tls.keyFile, 'key') };
}

/** The name the server certificate must carry: the profile's TLS server name when set, else the
 * host the user configured (never the tunnel's 127.0.0.1). */
export function expectedServerName(p: DriverParams): string {
  return p.tls.serverName ?? p.tlsServerName;
}

/** Node TLS options for a mode other than disable; 'prefer' and 'require' encrypt without verifying. */
export function nodeTlsOptions(p: DriverParams): tls.ConnectionOptions {
  const m = readTlsFiles(p.tls);
  const verify = p.tls.mode === 'verify-full';
  const expected = expectedServerName(p);
  return {
    rejectUnauthorized: verify,
    // Node checks the name it connected with, and drivers decide what that is (node-postgres uses
    // its host, which through a tunnel is 127.0.0.1, and replaces a custom servername with it on
    // direct connections). Checking the expected name here holds whatever the driver passes.
    ...(verify ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(expected, cert) } : {}),
    // SNI carries host names only (RFC 6066); Node warns when it is given an address.
    ...(net.isIP(expected) ? {} : { servername: expected }),
    ...(m.ca ? { ca: m.ca } : {}),
    ...(m.cert ? { cert: m.cert } : {}),
    ...(m.key ? { key: m.key } : {}),
  };
}

/** A short random suffix for probe objects, so concurrent probes never collide. */
export function probeSuffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

// What the global setup started, as test files see it. Each server is either available, with how to
// reach it, or unavailable with the reason; suites for an unavailable server are registered as
// skipped with that reason in their name, so a skip is never silent. With CI=true the global setup
// fails instead, so nothing is skipped there.
import { describe, inject, it } from 'vitest';

/** TLS material of a test server that accepts TLS. Its certificate names only DNS:localhost. */
export interface TestTls {
  /** The throwaway CA that signed the server certificate. */
  caFile: string;
  /** The name the server certificate carries (and the only one). */
  serverName: 'localhost';
  certFile: string;
  keyFile: string;
}

export interface PostgresTestServer {
  available: true;
  host: '127.0.0.1';
  port: number;
  replicaPort: number;
  /** Only the replica accepts TLS; the primary refuses it, so both behaviours can be tested. */
  replicaTls: TestTls;
  user: 'flightdeck';
  password: string;
  database: 'flightdeck_test';
  superuser: string;
  superuserPassword: string;
  socketDir: string;
  dataDir: string;
  replicaDataDir: string;
  binDir: string;
}

export interface MariadbTestServer {
  available: true;
  host: '127.0.0.1';
  port: number;
  user: 'flightdeck';
  password: string;
  database: 'flightdeck_test';
  readonlyUser: 'fd_readonly';
  readonlyPassword: string;
  rootUser: string;
  rootPassword: string;
  socket: string;
  tls: TestTls;
}

export interface SshdTestServer {
  available: true;
  host: '127.0.0.1';
  port: number;
  /** The OS user running the tests; key and agent auth work for it. */
  user: string;
  /** Unencrypted OpenSSH private key file (also held by the agent). */
  clientKey: string;
  /** The same kind of key, encrypted with `passphrase`. */
  encryptedClientKey: string;
  passphrase: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 …` with the daemon's real host key. */
  knownHostsFile: string;
  /** The same host entry with a different key, to simulate a changed host key. */
  wrongKnownHostsFile: string;
  /** SHA256:… as ssh-keygen -l prints it. */
  hostKeyFingerprint: string;
  agentSocket: string;
  /** A system user with a password, only when the tests run as root. */
  passwordUser?: string;
  password?: string;
  configFile: string;
  pidFile: string;
  logFile: string;
}

export interface PgbouncerTestServer {
  available: true;
  host: '127.0.0.1';
  port: number;
  /** In admin_users: may run SHOW POOLS … on the console, database `pgbouncer`. */
  adminUser: string;
  adminPassword: string;
  /** The test PostgreSQL's login role, in the auth_file with its password. */
  user: 'flightdeck';
  password: string;
  /** Has its own [databases] entry; every other name reaches the test PostgreSQL through `*`. */
  database: 'flightdeck_test';
  /** flightdeck_test again, as an entry with pool_mode=transaction. */
  transactionDatabase: 'flightdeck_test_tx';
  /** Server connections per database and user. */
  defaultPoolSize: number;
  poolMode: 'session';
  maxClientConn: number;
  configFile: string;
  logFile: string;
  pid: number;
}

export interface Unavailable {
  available: false;
  reason: string;
}

export interface TestServers {
  postgres: PostgresTestServer | Unavailable;
  mariadb: MariadbTestServer | Unavailable;
  sshd: SshdTestServer | Unavailable;
  /** In front of the test PostgreSQL, so unavailable whenever it is. */
  pgbouncer: PgbouncerTestServer | Unavailable;
}

export type ServerName = keyof TestServers;
export type AvailableServer<K extends ServerName> = Extract<TestServers[K], { available: true }>;

declare module 'vitest' {
  export interface ProvidedContext {
    servers: TestServers;
  }
}

export function getServers(): TestServers {
  return inject('servers');
}

/** The server's connection info; throws (failing the test) when it is unavailable. Use inside
 * tests and hooks of a suite that describeWith() already guards. */
export function requireServer<K extends ServerName>(name: K): AvailableServer<K> {
  const server = getServers()[name];
  if (!server.available) throw new Error(`${name} is not available: ${server.reason}`);
  return server as AvailableServer<K>;
}

/** describe() when the server is available, passing its info; otherwise a skipped suite whose name
 * says why, e.g. "postgres: not available (initdb not found)". */
export function describeWith<K extends ServerName>(name: K, title: string, body: (server: AvailableServer<K>) => void): void {
  const server = getServers()[name];
  if (server.available) {
    describe(title, () => body(server as AvailableServer<K>));
    return;
  }
  describe.skip(`${name}: not available (${server.reason})`, () => {
    it(title, () => undefined);
  });
}

// Reaching one database: an SSH tunnel first when the profile has one, then the engine's pool
// through it. Store-free, so the CLI uses it directly and the manager adds state on top.
import type { TestResult, TunnelState } from '../../shared/api';
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import type { Logger } from '../log';
import { sessionDefaults, type DriverParams, type EngineSession, type SessionRole } from './adapter';
import { openMongo } from './mongodb';
import { openMysql } from './mysql';
import { openPostgres } from './postgres';
import type { HostKeyPolicy } from './ssh/host-keys';
import { openTunnel, type SshTunnel } from './ssh/tunnel';

export interface ResolvedSecrets {
  dbPassword?: string;
  sshPassword?: string;
  sshPassphrase?: string;
  jumpPassword?: string;
  jumpPassphrase?: string;
}

export interface ConnectDeps {
  hostKeys: HostKeyPolicy;
  log?: Logger;
  role?: SessionRole;
  onTunnelState?: (s: TunnelState) => void;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  poolSize?: number;
  /** Tighter limits for sessions that must never wait (the monitor's). */
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
}

export interface OpenConnection {
  readonly profile: Profile;
  readonly session: EngineSession;
  readonly tunnel?: SshTunnel;
  readonly route: TestResult['via'];
  close(): Promise<void>;
}

const openers = { postgres: openPostgres, mysql: openMysql, mongodb: openMongo } as const;

export async function connectProfile(profile: Profile, secrets: ResolvedSecrets, deps: ConnectDeps): Promise<OpenConnection> {
  const opener = openers[profile.engine];
  if (!opener) {
    throw new FlightdeckError('ENGINE_UNSUPPORTED', `Flightdeck does not support the engine "${String(profile.engine)}".`, 'Use postgres, mysql or mongodb.');
  }
  const target = `${profile.host}:${profile.port}`;
  let tunnel: SshTunnel | undefined;
  if (profile.ssh) {
    tunnel = await openTunnel({
      ssh: profile.ssh,
      secrets: { password: secrets.sshPassword, passphrase: secrets.sshPassphrase, jumpPassword: secrets.jumpPassword, jumpPassphrase: secrets.jumpPassphrase },
      target: { host: profile.host, port: profile.port },
      hostKeys: deps.hostKeys,
      connectTimeoutMs: profile.connectTimeoutMs,
      log: deps.log,
      onState: deps.onTunnelState,
      reconnect: deps.reconnect,
    });
  }
  const sshLabel = profile.ssh ? `${profile.ssh.user}@${profile.ssh.host}:${profile.ssh.port}` : undefined;
  const params: DriverParams = {
    host: tunnel ? '127.0.0.1' : profile.host,
    port: tunnel ? tunnel.localPort : profile.port,
    database: profile.database,
    user: profile.user,
    password: secrets.dbPassword,
    tls: profile.tls,
    tlsServerName: profile.host,
    connectTimeoutMs: profile.connectTimeoutMs,
    role: deps.role ?? 'connect',
    statementTimeoutMs: deps.statementTimeoutMs ?? sessionDefaults.statementTimeoutMs,
    lockTimeoutMs: deps.lockTimeoutMs ?? sessionDefaults.lockTimeoutMs,
    poolSize: deps.poolSize ?? sessionDefaults.poolSize,
    mongo: profile.mongo,
    tunnelled: Boolean(tunnel),
    ctx: { engine: profile.engine, target, database: profile.database, user: profile.user, viaSsh: sshLabel, timeoutMs: profile.connectTimeoutMs },
  };
  let session: EngineSession;
  try {
    session = await opener(params);
  } catch (e) {
    await tunnel?.close();
    throw e;
  }
  const route: TestResult['via'] = {
    address: target,
    ...(tunnel && profile.ssh
      ? {
          ssh: {
            host: profile.ssh.host,
            port: profile.ssh.port,
            localPort: tunnel.localPort,
            ...(profile.ssh.jump ? { jump: `${profile.ssh.jump.user}@${profile.ssh.jump.host}:${profile.ssh.jump.port}` } : {}),
          },
        }
      : {}),
  };
  let closed = false;
  return {
    profile,
    session,
    tunnel,
    route,
    async close() {
      if (closed) return;
      closed = true;
      await session.close();
      await tunnel?.close();
    },
  };
}

export async function inspectConnection(conn: OpenConnection, opts: { writeProbe: boolean }): Promise<TestResult> {
  const started = performance.now();
  const inspection = await conn.session.inspect(opts);
  return { ...inspection, via: conn.route, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
}

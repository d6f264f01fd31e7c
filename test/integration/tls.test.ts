// TLS against real servers: the PostgreSQL replica and MariaDB accept TLS with a certificate from
// the run's throwaway CA that names only DNS:localhost. Encryption without verification works
// without the CA; verify-full needs the CA and checks the name the user configured (the profile's
// host, or its TLS server name), directly and through an SSH tunnel, where the socket goes to
// 127.0.0.1 but the name checked must still be the database's.
import { describe, expect, it } from 'vitest';
import { FlightdeckError } from '../../shared/errors';
import type { Profile, SshOptions, TlsOptions } from '../../shared/profile';
import { connectProfile, inspectConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import type { TestResult } from '../../shared/api';
import { describeWith, type AvailableServer, type TestTls } from '../support/servers';

const CONNECT_TIMEOUT_MS = 5000;

interface Target {
  engine: Profile['engine'];
  port: number;
  user: string;
  password: string;
  database: string;
  tls: TestTls;
}

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
}

async function settledHandles(baseline: number): Promise<number> {
  for (let i = 0; i < 40 && tcpHandles() > baseline; i++) await new Promise((r) => setTimeout(r, 50));
  return tcpHandles();
}

function tlsSuite(t: Target): void {
  const profile = (host: string, tls: TlsOptions, ssh?: SshOptions): Profile => ({
    id: `tls-${t.engine}`,
    name: `tls ${t.engine}`,
    engine: t.engine,
    environment: 'staging',
    host,
    port: t.port,
    database: t.database,
    user: t.user,
    tls,
    ...(ssh ? { ssh } : {}),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });

  // The tunnel tests trust the sshd's host key through its known_hosts file, as a user would.
  const hostKeys = (knownHostsFile?: string) => new HostKeyPolicy({ defaultKnownHostsFile: knownHostsFile ?? '/nonexistent/flightdeck-known-hosts' });

  async function inspect(p: Profile, knownHostsFile?: string): Promise<TestResult> {
    const conn = await connectProfile(p, { dbPassword: t.password }, { hostKeys: hostKeys(knownHostsFile) });
    try {
      return await inspectConnection(conn, { writeProbe: false });
    } finally {
      await conn.close();
    }
  }

  async function fails(p: Profile, knownHostsFile?: string): Promise<FlightdeckError> {
    const t0 = Date.now();
    const err = await inspect(p, knownHostsFile).then(
      (r) => new Error(`connected (TLS ${JSON.stringify(r.tls)}) but was expected to fail`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlightdeckError);
    expect(Date.now() - t0).toBeLessThan(CONNECT_TIMEOUT_MS);
    return err as FlightdeckError;
  }

  function expectEncrypted(r: TestResult): void {
    expect(r.tls.enabled).toBe(true);
    expect(r.tls.protocol).toMatch(/^TLSv1\.[23]$/);
  }

  it('encrypts with "require" without a CA, and reports the protocol', async () => {
    expectEncrypted(await inspect(profile('127.0.0.1', { mode: 'require' })));
  });

  it('verifies the certificate and the host name with verify-full and the CA', async () => {
    expectEncrypted(await inspect(profile('localhost', { mode: 'verify-full', caFile: t.tls.caFile })));
  });

  it('refuses a certificate from an unknown CA', async () => {
    const err = await fails(profile('localhost', { mode: 'verify-full' }));
    expect(err.code).toBe('TLS_FAILED');
    expect(err.message).toMatch(/unable to verify the first certificate|self[- ]signed|local issuer/i);
  });

  it('refuses a certificate that does not name the host connected to', async () => {
    const err = await fails(profile('127.0.0.1', { mode: 'verify-full', caFile: t.tls.caFile }));
    expect(err.code).toBe('TLS_FAILED');
    expect(err.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
  });

  it('checks the TLS server name instead of the host when the profile sets one', async () => {
    expectEncrypted(await inspect(profile('127.0.0.1', { mode: 'verify-full', caFile: t.tls.caFile, serverName: t.tls.serverName })));
    // The other way round too: a host name the certificate carries does not excuse a server name it
    // does not (node-postgres replaces a custom server name with a host name it connects to).
    const err = await fails(profile('localhost', { mode: 'verify-full', caFile: t.tls.caFile, serverName: 'db.flightdeck.invalid' }));
    expect(err.code).toBe('TLS_FAILED');
    expect(err.message).toMatch(/db\.flightdeck\.invalid/);
  });

  it('leaves no socket behind after TLS failures', async () => {
    const baseline = tcpHandles();
    await fails(profile('localhost', { mode: 'verify-full' }));
    await fails(profile('127.0.0.1', { mode: 'verify-full', caFile: t.tls.caFile }));
    expect(await settledHandles(baseline)).toBeLessThanOrEqual(baseline);
  });

  describeWith('sshd', 'through an SSH tunnel', (sshd: AvailableServer<'sshd'>) => {
    const ssh: SshOptions = { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKey, knownHostsFile: sshd.knownHostsFile, keepaliveIntervalMs: 10_000 };

    it('checks the profile host, not the tunnel\'s 127.0.0.1', async () => {
      const r = await inspect(profile('localhost', { mode: 'verify-full', caFile: t.tls.caFile }, ssh), sshd.knownHostsFile);
      expectEncrypted(r);
      expect(r.via).toMatchObject({ address: `localhost:${t.port}`, ssh: { host: sshd.host, port: sshd.port } });
    });

    it('refuses a profile host the certificate does not name, although the tunnel is on 127.0.0.1', async () => {
      const err = await fails(profile('127.0.0.1', { mode: 'verify-full', caFile: t.tls.caFile }, ssh), sshd.knownHostsFile);
      expect(err.code).toBe('TLS_FAILED');
      expect(err.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    });
  });
}

describe('TLS', () => {
  describeWith('postgres', 'PostgreSQL (the replica; the primary refuses TLS)', (s) => {
    tlsSuite({ engine: 'postgres', port: s.replicaPort, user: s.user, password: s.password, database: s.database, tls: s.replicaTls });
  });

  describeWith('mariadb', 'MariaDB', (s) => {
    tlsSuite({ engine: 'mysql', port: s.port, user: s.user, password: s.password, database: s.database, tls: s.tls });
  });
});

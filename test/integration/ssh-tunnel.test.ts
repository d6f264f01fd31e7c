// SSH tunnels against the real test sshd and PostgreSQL: every auth method, host key verification,
// each failure's code (within the connect timeout), reconnection after the server is killed, a jump
// host, and that close() leaves nothing that keeps a process alive.
//
// Tests that kill a server use a private sshd started from the shared one's configuration on its
// own port, so other test files using the shared sshd at the same time are not disturbed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import ssh2 from 'ssh2';
import type { Prompt } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelState } from '../../shared/api';
import { FlightdeckError } from '../../shared/errors';
import type { SshOptions } from '../../shared/profile';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { openTunnel, type SshTunnel, type TunnelOptions } from '../../main/connections/ssh/tunnel';
import { freePort, socketAccepts } from '../support/ports';
import { describeWith, getServers, type AvailableServer } from '../support/servers';
import { killSshd, restartSshd, spawnSshd } from '../support/sshd-control';

const here = dirname(fileURLToPath(import.meta.url));

type Sshd = AvailableServer<'sshd'>;
type Postgres = AvailableServer<'postgres'>;

const CONNECT_TIMEOUT_MS = 5000;
/** Scheduling slack on a busy two-core machine when asserting "failed within the timeout". */
const SLACK_MS = 750;

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'fd-ssh-tunnel-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function sshOptions(sshd: Sshd, over: Partial<SshOptions> = {}): SshOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    auth: 'key',
    keyFile: sshd.clientKey,
    knownHostsFile: sshd.knownHostsFile,
    keepaliveIntervalMs: 10_000,
    ...over,
  };
}

function pgTarget(): { host: string; port: number } {
  const p = getServers().postgres;
  // Without the test PostgreSQL the tunnel tests still run against a plain TCP echo target.
  return p.available ? { host: '127.0.0.1', port: p.port } : { host: '127.0.0.1', port: echoPort };
}

async function pgQuery(port: number): Promise<string> {
  const p = getServers().postgres as Postgres;
  const client = new pg.Client({ host: '127.0.0.1', port, user: p.user, password: p.password, database: p.database, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const r = await client.query<{ who: string }>("SELECT current_user || '@' || current_database() AS who");
    return r.rows[0]?.who ?? '';
  } finally {
    await client.end();
  }
}

/** Opens and expects a FlightdeckError; returns it and how long the attempt took. */
async function openFails(opts: TunnelOptions): Promise<{ err: FlightdeckError; ms: number; states: TunnelState[] }> {
  const states: TunnelState[] = [];
  const t0 = Date.now();
  let tunnel: SshTunnel | undefined;
  try {
    tunnel = await openTunnel({ ...opts, onState: (s) => states.push(s) });
  } catch (e) {
    expect(e).toBeInstanceOf(FlightdeckError);
    return { err: e as FlightdeckError, ms: Date.now() - t0, states };
  }
  await tunnel.close();
  throw new Error('openTunnel succeeded but was expected to fail');
}

function expectFailure(r: { err: FlightdeckError; ms: number; states: TunnelState[] }, code: string, timeoutMs = CONNECT_TIMEOUT_MS): void {
  expect(r.err.code, `${r.err.code}: ${r.err.message}`).toBe(code);
  expect(r.err.hint.length).toBeGreaterThan(10);
  expect(r.ms).toBeLessThan(timeoutMs + SLACK_MS);
  expect(r.states.at(-1)).toMatchObject({ state: 'down', lastError: { code } });
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let echoPort = 0;
let echoServer: net.Server | undefined;
beforeAll(async () => {
  echoServer = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echoServer!.listen(0, '127.0.0.1', r));
  echoPort = (echoServer.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => echoServer?.close(r));
});

function echoThrough(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      got += d;
      if (got.length >= payload.length) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(payload);
  });
}

/** A private sshd on its own port with the shared one's keys and users, for tests that kill it. */
interface PrivateSshd {
  files: { port: number; configFile: string; pidFile: string; logFile: string };
  knownHostsFile: string;
  /** Rewrites the config to serve another host key; takes effect at the next restart. */
  swapHostKey(): void;
  stop(): Promise<void>;
}

async function privateSshd(sshd: Sshd, name: string, extraAuthorizedKeys: string[] = []): Promise<PrivateSshd> {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const files = { port, configFile: join(dir, 'sshd_config'), pidFile: join(dir, 'sshd.pid'), logFile: join(dir, 'sshd.log') };
  let base = readFileSync(sshd.configFile, 'utf8').replace(/^Port \d+$/m, `Port ${port}`).replace(/^PidFile .*$/m, `PidFile ${files.pidFile}`);
  if (extraAuthorizedKeys.length) {
    const shared = /^AuthorizedKeysFile (.*)$/m.exec(base)?.[1] ?? '';
    const own = join(dir, 'authorized_keys');
    writeFileSync(own, readFileSync(shared, 'utf8') + extraAuthorizedKeys.join('\n') + '\n', { mode: 0o644 });
    base = base.replace(/^AuthorizedKeysFile .*$/m, `AuthorizedKeysFile ${own}`);
  }
  writeFileSync(files.configFile, base);
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, readFileSync(sshd.knownHostsFile, 'utf8').replace(/^\[127\.0\.0\.1\]:\d+ /m, `[127.0.0.1]:${port} `));
  await spawnSshd(files);
  return {
    files,
    knownHostsFile,
    swapHostKey() {
      const key = join(dir, 'new_host_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      writeFileSync(files.configFile, base.replace(/^HostKey .*$/m, `HostKey ${key}`));
    },
    stop: () => killSshd(files),
  };
}

/** The daemon and its per-connection processes, to freeze them all like a hung host. */
function sshdProcesses(pidFile: string): number[] {
  const root = Number(readFileSync(pidFile, 'utf8').trim());
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((r): r is [number, number] => r.length === 2);
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of rows) if (ppid === found[i]) found.push(pid);
  return found;
}

describeWith('sshd', 'SSH tunnel', (sshd) => {
  const policy = new HostKeyPolicy({ defaultKnownHostsFile: join(tmpdir(), 'fd-never-used-known-hosts') });
  const base = (over: Partial<TunnelOptions> = {}): TunnelOptions => ({
    ssh: sshOptions(sshd),
    secrets: {},
    target: pgTarget(),
    hostKeys: policy,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    ...over,
  });

  async function roundTrip(tunnel: SshTunnel): Promise<void> {
    if (getServers().postgres.available) {
      const p = getServers().postgres as Postgres;
      expect(await pgQuery(tunnel.localPort)).toBe(`${p.user}@${p.database}`);
    } else {
      expect(await echoThrough(tunnel.localPort, 'ping')).toBe('ping');
    }
  }

  describe('auth methods', () => {
    it('key file: a PostgreSQL query through the tunnel works', async () => {
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(base({ onState: (s) => states.push(s) }));
      try {
        expect(tunnel.localPort).toBeGreaterThan(0);
        expect(tunnel.state).toMatchObject({ state: 'up', localPort: tunnel.localPort, attempt: 0 });
        expect(states.map((s) => s.state)).toEqual(['connecting', 'up']);
        await roundTrip(tunnel);
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
      expect(tunnel.state.state).toBe('closed');
      // The listener is gone with the tunnel.
      await expect(echoThrough(tunnel.localPort, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });

    it('encrypted key with its passphrase', async () => {
      const tunnel = await openTunnel(base({ ssh: sshOptions(sshd, { keyFile: sshd.encryptedClientKey }), secrets: { passphrase: sshd.passphrase } }));
      try {
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
    });

    it('PEM (RSA) key with its passphrase; a wrong one is SSH_KEY_UNREADABLE', async () => {
      const key = join(scratch, 'pem_rsa_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', 'pem-passphrase', '-f', key]);
      expect(readFileSync(key, 'utf8')).toContain('BEGIN RSA PRIVATE KEY');
      const priv = await privateSshd(sshd, 'pem', [readFileSync(`${key}.pub`, 'utf8').trim()]);
      try {
        const ssh = sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile, keyFile: key });
        const tunnel = await openTunnel(base({ ssh, secrets: { passphrase: 'pem-passphrase' } }));
        try {
          await roundTrip(tunnel);
        } finally {
          await tunnel.close();
        }
        expectFailure(await openFails(base({ ssh, secrets: { passphrase: 'wrong' } })), 'SSH_KEY_UNREADABLE');
      } finally {
        await priv.stop();
      }
    });

    it('ssh-agent', async () => {
      const tunnel = await openTunnel(base({ ssh: sshOptions(sshd, { auth: 'agent', keyFile: undefined, agentSocket: sshd.agentSocket }) }));
      try {
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
    });

    it.skipIf(!sshd.passwordUser)('password (tests run as root: a password user exists)', async () => {
      const tunnel = await openTunnel(base({ ssh: sshOptions(sshd, { auth: 'password', user: sshd.passwordUser!, keyFile: undefined }), secrets: { password: sshd.password! } }));
      try {
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
    });
  });

  describe('host keys', () => {
    it('unknown host key: challenge, trust(), then the retry succeeds and the file has the line', async () => {
      const knownHostsFile = join(scratch, 'fresh-ssh-dir', 'known_hosts');
      const opts = base({ ssh: sshOptions(sshd, { knownHostsFile }) });
      const r = await openFails(opts);
      expectFailure(r, 'SSH_HOSTKEY_UNKNOWN');
      const challenge = r.err.details as { challengeId: string; host: string; port: number; keyType: string; fingerprint: string; knownHostsFile: string };
      expect(challenge).toMatchObject({ host: '127.0.0.1', port: sshd.port, keyType: 'ssh-ed25519', fingerprint: sshd.hostKeyFingerprint, knownHostsFile });
      expect(r.err.message).toContain(sshd.hostKeyFingerprint);
      expect(existsSync(knownHostsFile)).toBe(false);

      await policy.trust(challenge.challengeId);
      const expected = readFileSync(sshd.knownHostsFile, 'utf8').trim().split(/\s+/).slice(0, 3).join(' ');
      expect(readFileSync(knownHostsFile, 'utf8')).toBe(`${expected}\n`);
      expect(statSync(knownHostsFile).mode & 0o777).toBe(0o600);

      const tunnel = await openTunnel(opts);
      try {
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
    });

    it('changed host key is refused with no challenge', async () => {
      const r = await openFails(base({ ssh: sshOptions(sshd, { knownHostsFile: sshd.wrongKnownHostsFile }) }));
      expectFailure(r, 'SSH_HOSTKEY_CHANGED');
      expect(r.err.details).not.toHaveProperty('challengeId');
      expect(r.err.hint).toContain('ssh-keygen -R');
      expect(r.err.details).toMatchObject({ fingerprint: sshd.hostKeyFingerprint });
    });
  });

  describe('failures have their own codes and come within the connect timeout', () => {
    it('missing key file → SSH_KEY_UNREADABLE naming the file', async () => {
      const missing = join(scratch, 'no-such-key');
      const r = await openFails(base({ ssh: sshOptions(sshd, { keyFile: missing }) }));
      expectFailure(r, 'SSH_KEY_UNREADABLE');
      expect(r.err.message).toContain(missing);
    });

    it('wrong passphrase, and no passphrase, → SSH_KEY_UNREADABLE', async () => {
      const wrong = await openFails(base({ ssh: sshOptions(sshd, { keyFile: sshd.encryptedClientKey }), secrets: { passphrase: 'not-the-passphrase' } }));
      expectFailure(wrong, 'SSH_KEY_UNREADABLE');
      expect(wrong.err.message).toContain('passphrase');
      const none = await openFails(base({ ssh: sshOptions(sshd, { keyFile: sshd.encryptedClientKey }) }));
      expectFailure(none, 'SSH_KEY_UNREADABLE');
      expect(none.err.details).toMatchObject({ secretKind: 'ssh-key-passphrase' });
    });

    it('an empty ssh-agent, and one that never answers, → SSH_KEY_UNREADABLE', async () => {
      const emptySocket = join(scratch, 'empty-agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', emptySocket], { stdio: 'ignore' });
      const hungSocket = join(scratch, 'hung-agent.sock');
      const conns = new Set<net.Socket>();
      const hung = net.createServer((c) => {
        conns.add(c);
        c.resume();
      });
      await new Promise<void>((r) => hung.listen(hungSocket, r));
      try {
        // The socket file appears a moment before the agent accepts on it.
        await waitFor('ssh-agent socket', async () => (await socketAccepts(emptySocket)) || undefined, 10_000);
        const empty = await openFails(base({ ssh: sshOptions(sshd, { auth: 'agent', agentSocket: emptySocket }) }));
        expectFailure(empty, 'SSH_KEY_UNREADABLE');
        expect(empty.err.message).toContain('no keys');
        const silent = await openFails(base({ ssh: sshOptions(sshd, { auth: 'agent', agentSocket: hungSocket }), connectTimeoutMs: 1000 }));
        expectFailure(silent, 'SSH_KEY_UNREADABLE', 1000);
        expect(silent.err.message).toContain('did not answer');
        // The abandoned agent request was hung up, not left dangling.
        await waitFor('agent connection closed', () => [...conns].every((c) => c.destroyed || c.readableEnded) || undefined, 3000);
      } finally {
        agent.kill();
        for (const c of conns) c.destroy();
        await new Promise((r) => hung.close(r));
      }
    });

    it('a key the server does not know → SSH_AUTH_FAILED saying what was tried', async () => {
      const stranger = join(scratch, 'stranger_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
      const r = await openFails(base({ ssh: sshOptions(sshd, { keyFile: stranger }) }));
      expectFailure(r, 'SSH_AUTH_FAILED');
      expect(r.err.message).toContain('publickey');
      expect(r.err.message).toContain(stranger);
    });

    it.skipIf(!sshd.passwordUser)('wrong password → SSH_AUTH_FAILED', async () => {
      const r = await openFails(base({ ssh: sshOptions(sshd, { auth: 'password', user: sshd.passwordUser!, keyFile: undefined }), secrets: { password: 'wrong-password' } }));
      expectFailure(r, 'SSH_AUTH_FAILED');
      expect(r.err.message).toContain('password');
    });

    it('nothing listening on the SSH port → SSH_UNREACHABLE, fast', async () => {
      const port = await freePort();
      const r = await openFails(base({ ssh: sshOptions(sshd, { port }) }));
      expectFailure(r, 'SSH_UNREACHABLE');
      expect(r.ms).toBeLessThan(1000);
    });

    it('a server that never speaks SSH → SSH_UNREACHABLE at the connect timeout, nothing left open', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        // Read (and drop) what the client sends, so its hang-up is noticed.
        s.resume();
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const r = await openFails(base({ ssh: sshOptions(sshd, { port }), connectTimeoutMs: 1500 }));
        expectFailure(r, 'SSH_UNREACHABLE', 1500);
        expect(r.ms).toBeGreaterThanOrEqual(1400);
        expect(r.err.message).toContain('handshake');
        // Our side hung up when the attempt was abandoned.
        await waitFor('the silent server to see the disconnect', () => sockets.size === 0 || undefined, 3000);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => silent.close(r));
      }
    });

    it('target port with nothing listening → SSH_TUNNEL_TARGET_REFUSED', async () => {
      const port = await freePort();
      const r = await openFails(base({ target: { host: '127.0.0.1', port } }));
      expectFailure(r, 'SSH_TUNNEL_TARGET_REFUSED');
      expect(r.err.message).toContain(`127.0.0.1:${port}`);
      expect(r.err.message).toContain('refused');
    });
  });

  describe('forwarding', () => {
    it('many connections at once; a broken one does not affect the others', async () => {
      const tunnel = await openTunnel(base({ target: { host: '127.0.0.1', port: echoPort } }));
      try {
        const victim = net.connect(tunnel.localPort, '127.0.0.1');
        await new Promise((r) => victim.once('connect', r));
        const results = Promise.all(Array.from({ length: 8 }, (_, i) => echoThrough(tunnel.localPort, `payload-${i}-${'x'.repeat(20_000)}`)));
        victim.resetAndDestroy();
        const got = await results;
        got.forEach((g, i) => expect(g).toBe(`payload-${i}-${'x'.repeat(20_000)}`));
        expect(await echoThrough(tunnel.localPort, 'after')).toBe('after');
      } finally {
        await tunnel.close();
      }
    });

    it.skipIf(!getServers().postgres.available)("the database's own error reaches the driver intact (wrong password)", async () => {
      const tunnel = await openTunnel(base());
      try {
        const p = getServers().postgres as Postgres;
        const client = new pg.Client({ host: '127.0.0.1', port: tunnel.localPort, user: p.user, password: 'wrong', database: p.database });
        await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
        await client.end().catch(() => undefined);
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
    });

    it('jump host: through the sshd to itself, host keys of both verified', async () => {
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(
        base({
          ssh: sshOptions(sshd, { jump: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'agent', agentSocket: sshd.agentSocket } }),
          onState: (s) => states.push(s),
        }),
      );
      try {
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
      }
      expect(states.map((s) => s.state)).toEqual(['connecting', 'up', 'closed']);
    });

    it('jump host with a changed key is refused before the SSH server is tried', async () => {
      const r = await openFails(
        base({
          ssh: sshOptions(sshd, {
            knownHostsFile: sshd.wrongKnownHostsFile,
            jump: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKey },
          }),
        }),
      );
      expectFailure(r, 'SSH_HOSTKEY_CHANGED');
    });

    it('jump host that cannot reach the SSH server → SSH_UNREACHABLE', async () => {
      const port = await freePort();
      const r = await openFails(
        base({ ssh: sshOptions(sshd, { port, jump: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKey } }) }),
      );
      expectFailure(r, 'SSH_UNREACHABLE');
      expect(r.err.message).toContain('jump host');
    });

    it('the local port cannot be opened after SSH is up → SSH_FAILED, and the SSH session is ended', async () => {
      // A private sshd, so its per-connection processes show exactly the sessions this test holds.
      const priv = await privateSshd(sshd, 'listen-fails');
      // A taken port stands in for EMFILE and the like: the listen fails only after run() succeeded.
      const taken = net.createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      const takenPort = (taken.address() as net.AddressInfo).port;
      try {
        const r = await openFails(
          base({ ssh: sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile }), target: { host: '127.0.0.1', port: echoPort }, localPort: takenPort }),
        );
        expectFailure(r, 'SSH_FAILED');
        expect(r.err.message).toContain(`127.0.0.1:${takenPort}`);
        expect(r.err.details).toMatchObject({ errno: 'EADDRINUSE' });
        // The SSH link had been established (the failure came after it)…
        expect(readFileSync(priv.files.logFile, 'utf8')).toMatch(/Accepted publickey/);
        // …and is gone: only the listening daemon is left. A leaked link would keep its session
        // process alive indefinitely, its keepalives answered.
        await waitFor('the SSH session to end', () => sshdProcesses(priv.files.pidFile).length === 1 || undefined, 5000);
      } finally {
        await new Promise((r) => taken.close(r));
        await priv.stop();
      }
    });
  });

  describe('reconnection', () => {
    it('server killed: reconnecting on the same port, holds a connection, up again when it is back', async () => {
      const priv = await privateSshd(sshd, 'reconnect');
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(
        base({
          ssh: sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile, keepaliveIntervalMs: 1000 }),
          reconnect: { initialDelayMs: 100, maxDelayMs: 400, maxAttempts: 1000 },
          onState: (s) => states.push(s),
        }),
      );
      try {
        const port = tunnel.localPort;
        await roundTrip(tunnel);

        await killSshd(priv.files);
        const reconnecting = await waitFor('state reconnecting', () => states.find((s) => s.state === 'reconnecting'));
        expect(reconnecting).toMatchObject({ localPort: port, attempt: 1, lastError: { code: 'SSH_UNREACHABLE' } });
        expect(reconnecting.nextRetryInMs).toBeGreaterThanOrEqual(50);
        expect(reconnecting.nextRetryInMs).toBeLessThanOrEqual(100);
        await waitFor('a few failed attempts', () => states.some((s) => s.state === 'reconnecting' && s.attempt >= 3) || undefined);
        for (const s of states.filter((s) => s.state === 'reconnecting')) expect(s.nextRetryInMs).toBeLessThanOrEqual(400);

        // A driver connecting while the server is down is held, not refused, and completes once back.
        const held = pgTarget().port === echoPort ? echoThrough(port, 'held') : pgQuery(port);
        await new Promise((r) => setTimeout(r, 300));
        await restartSshd(priv.files);
        await waitFor('state up again', () => (tunnel.state.state === 'up' ? true : undefined));
        expect(tunnel.localPort).toBe(port);
        expect(tunnel.state).toMatchObject({ state: 'up', attempt: 0, localPort: port });
        await expect(held).resolves.toBeTruthy();
        await roundTrip(tunnel);
      } finally {
        await tunnel.close();
        await priv.stop();
      }
    });

    it('a frozen server (no FIN, no answers) is detected by keepalive, and the tunnel recovers', async () => {
      const priv = await privateSshd(sshd, 'keepalive');
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(
        base({
          ssh: sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile, keepaliveIntervalMs: 1000 }),
          connectTimeoutMs: 2000,
          reconnect: { initialDelayMs: 100, maxDelayMs: 300, maxAttempts: 1000 },
          onState: (s) => states.push(s),
        }),
      );
      const frozen = sshdProcesses(priv.files.pidFile);
      try {
        await roundTrip(tunnel);
        const t0 = Date.now();
        for (const pid of frozen) process.kill(pid, 'SIGSTOP');
        const reconnecting = await waitFor('keepalive to notice', () => states.find((s) => s.state === 'reconnecting'), 15_000);
        // Three unanswered keepalives at a 1 s interval, plus scheduling.
        expect(Date.now() - t0).toBeLessThan(8000);
        expect(reconnecting.lastError?.message).toMatch(/keepalive/i);
        for (const pid of frozen) process.kill(pid, 'SIGCONT');
        await waitFor('state up again', () => (tunnel.state.state === 'up' ? true : undefined), 20_000);
        await roundTrip(tunnel);
      } finally {
        for (const pid of frozen) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            // Already gone.
          }
        }
        await tunnel.close();
        await priv.stop();
      }
    });

    it('a changed host key while reconnecting → down with SSH_HOSTKEY_CHANGED, no more retries', async () => {
      const priv = await privateSshd(sshd, 'reconnect-hostkey');
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(
        base({
          ssh: sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile }),
          reconnect: { initialDelayMs: 100, maxDelayMs: 200, maxAttempts: 1000 },
          onState: (s) => states.push(s),
        }),
      );
      try {
        await killSshd(priv.files);
        priv.swapHostKey();
        await restartSshd(priv.files);
        const down = await waitFor('state down', () => states.find((s) => s.state === 'down'));
        expect(down.lastError).toMatchObject({ code: 'SSH_HOSTKEY_CHANGED' });
        const count = states.length;
        await new Promise((r) => setTimeout(r, 800));
        expect(states.length).toBe(count);
        // Down keeps the port bound but refuses: nothing else can take it while drivers point at it.
        await expect(echoThrough(tunnel.localPort, 'x')).resolves.toBe('');
      } finally {
        await tunnel.close();
        await priv.stop();
      }
    });

    it('maxAttempts exhausted → down', async () => {
      const priv = await privateSshd(sshd, 'reconnect-giveup');
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(
        base({
          ssh: sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile }),
          reconnect: { initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 3 },
          onState: (s) => states.push(s),
        }),
      );
      try {
        await killSshd(priv.files);
        const down = await waitFor('state down', () => states.find((s) => s.state === 'down'));
        expect(down.lastError).toMatchObject({ code: 'SSH_UNREACHABLE' });
        expect(down.lastError?.message).toContain('3 reconnect attempts');
        expect(states.filter((s) => s.state === 'reconnecting').map((s) => s.attempt)).toEqual([1, 2, 3]);
      } finally {
        await tunnel.close();
        await priv.stop();
      }
      expect(tunnel.state.state).toBe('closed');
    });
  });

  describe('close()', () => {
    it('is idempotent and the tunnel stays closed', async () => {
      const states: TunnelState[] = [];
      const tunnel = await openTunnel(base({ onState: (s) => states.push(s) }));
      await Promise.all([tunnel.close(), tunnel.close()]);
      await tunnel.close();
      expect(states.filter((s) => s.state === 'closed')).toHaveLength(1);
    });

    it('leaves no handles: a process that opened, used, failed and closed tunnels exits by itself', async () => {
      const priv = await privateSshd(sshd, 'leak-check');
      const bundle = join(scratch, 'tunnel-child.cjs');
      const entry = join(scratch, 'tunnel-child.ts');
      const src = resolve(here, '../../main/connections/ssh');
      writeFileSync(entry, childSource(src));
      await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, external: ['ssh2', 'cpu-features'], logLevel: 'silent' });
      const refusedPort = await freePort();
      const cfg = {
        ok: base({ target: { host: '127.0.0.1', port: echoPort } }),
        refused: base({ target: { host: '127.0.0.1', port: refusedPort } }),
        unknown: base({ ssh: sshOptions(sshd, { knownHostsFile: join(scratch, 'leak-known-hosts') }) }),
        dropping: base({
          ssh: sshOptions(sshd, { port: priv.files.port, knownHostsFile: priv.knownHostsFile, keepaliveIntervalMs: 1000 }),
          target: { host: '127.0.0.1', port: echoPort },
          reconnect: { initialDelayMs: 100, maxDelayMs: 200, maxAttempts: 1000 },
        }),
      };
      const json = JSON.stringify(cfg, (k, v) => (k === 'hostKeys' ? undefined : v));
      const child = spawn(process.execPath, [bundle], {
        env: { ...process.env, NODE_PATH: resolve(here, '../../node_modules'), FD_TUNNEL_CHILD: json },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        // The child asks us to drop its SSH server once its tunnel through it is up.
        if (d.includes('kill-now')) void killSshd(priv.files);
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      try {
        const code = await new Promise<number | null>((resolveExit, reject) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`child did not exit on its own (something kept it alive). stdout:\n${out}\nstderr:\n${err}`));
          }, 20_000);
          child.once('exit', (c) => {
            clearTimeout(timer);
            resolveExit(c);
          });
        });
        expect(err).toBe('');
        expect(code).toBe(0);
        expect(out.trim().split('\n')).toEqual(['ok echo', 'refused SSH_TUNNEL_TARGET_REFUSED', 'unknown SSH_HOSTKEY_UNKNOWN', 'kill-now', 'dropping reconnecting', 'closed']);
      } finally {
        await priv.stop();
      }
    });
  });
});

/** An SSH server that offers only keyboard-interactive and asks the rounds it is given, then
 * forwards channels to wherever they ask. OpenSSH cannot stand in for it: the test sshd runs
 * without PAM (configuring PAM would mean editing the machine's /etc/pam.d), and OpenSSH's
 * keyboard-interactive on Linux has no challenge source but PAM, so it could ask neither for a
 * password nor for a one-time code. ssh2's server speaks the same protocol messages. */
async function keyboardInteractiveServer(rounds: Prompt[][], password: string) {
  const dir = mkdtempSync(join(scratch, 'kbdint-'));
  const hostKey = join(dir, 'host_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  /** Every answer the server received, by round: a refused prompt must never be answered. */
  const answers: string[][] = [];
  let sessions = 0;
  const server = new ssh2.Server({ hostKeys: [readFileSync(hostKey)] }, (client) => {
    sessions++;
    client.on('error', () => undefined);
    client.once('close', () => sessions--);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'keyboard-interactive') {
        ctx.reject(['keyboard-interactive']);
        return;
      }
      const ask = (i: number): void => {
        const round = rounds[i];
        if (!round) {
          ctx.accept();
          return;
        }
        ctx.prompt(round, (got) => {
          answers.push(got);
          // Like PAM: a wrong password fails the method (and would count against the account).
          if (got.some((a) => a !== password)) ctx.reject();
          else ask(i + 1);
        });
      };
      ask(0);
    });
    client.on('ready', () => {
      client.on('tcpip', (accept, _reject, info) => {
        const channel = accept();
        const out = net.connect(info.destPort, info.destIP);
        out.on('error', () => channel.destroy());
        channel.pipe(out).pipe(channel);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const knownHostsFile = join(dir, 'known_hosts');
  const [type, b64] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${type} ${b64}\n`);
  return {
    port,
    knownHostsFile,
    answers,
    sessions: () => sessions,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('SSH password through keyboard-interactive', () => {
  const password = 'kbd-secret';
  const options = (srv: { port: number; knownHostsFile: string }): TunnelOptions => ({
    ssh: { host: '127.0.0.1', port: srv.port, user: 'dba', auth: 'password', knownHostsFile: srv.knownHostsFile, keepaliveIntervalMs: 10_000 },
    secrets: { password },
    target: { host: '127.0.0.1', port: echoPort },
    hostKeys: new HostKeyPolicy({ defaultKnownHostsFile: join(tmpdir(), 'fd-never-used-known-hosts') }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });

  it('a "Password:" prompt gets the password and the tunnel works', async () => {
    const srv = await keyboardInteractiveServer([[{ prompt: 'Password: ', echo: false }]], password);
    try {
      const tunnel = await openTunnel(options(srv));
      try {
        expect(await echoThrough(tunnel.localPort, 'ping')).toBe('ping');
      } finally {
        await tunnel.close();
      }
      expect(srv.answers).toEqual([[password]]);
    } finally {
      await srv.close();
    }
  });

  it('a one-time code prompt (after the password) → SSH_AUTH_FAILED quoting it, never answered', async () => {
    const srv = await keyboardInteractiveServer(
      [[{ prompt: 'Password: ', echo: false }], [{ prompt: "One-time password (OATH) for `dba': ", echo: false }]],
      password,
    );
    try {
      const r = await openFails(options(srv));
      expectFailure(r, 'SSH_AUTH_FAILED');
      expect(r.err.message).toContain('asked for something other than the password');
      expect(r.err.message).toContain('"One-time password (OATH) for `dba\':"');
      expect(r.err.hint).toContain('does not answer interactive challenges');
      // The password went to the password prompt only; the code prompt got nothing at all.
      expect(srv.answers).toEqual([[password]]);
      await waitFor('the server to see the client go', () => srv.sessions() === 0 || undefined, 3000);
    } finally {
      await srv.close();
    }
  });
});

/** The child: exercises the tunnel paths that own sockets and timers, then just returns. If any
 * handle survived close() or a failed open, Node would not exit and the test times it out. */
function childSource(src: string): string {
  return `
import * as net from 'node:net';
import { openTunnel } from ${JSON.stringify(join(src, 'tunnel'))};
import { HostKeyPolicy } from ${JSON.stringify(join(src, 'host-keys'))};

const cfg = JSON.parse(process.env.FD_TUNNEL_CHILD ?? '{}');
const hostKeys = new HostKeyPolicy();

function echo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('echo'));
    s.setEncoding('utf8');
    s.on('data', (d) => { s.end(); resolve(String(d)); });
    s.on('error', reject);
  });
}

async function main(): Promise<void> {
  const ok = await openTunnel({ ...cfg.ok, hostKeys });
  console.log('ok', await echo(ok.localPort));
  // A connection left open by the client must not keep the process alive after close().
  const lingering = net.connect(ok.localPort, '127.0.0.1');
  lingering.on('error', () => undefined);
  await new Promise((r) => lingering.once('connect', r));
  await ok.close();
  await ok.close();
  for (const name of ['refused', 'unknown']) {
    try {
      const t = await openTunnel({ ...cfg[name], hostKeys });
      await t.close();
      console.log(name, 'opened?!');
    } catch (e) {
      console.log(name, (e as { code?: string }).code);
    }
  }
  let reconnecting!: () => void;
  const sawReconnecting = new Promise<void>((r) => (reconnecting = r));
  const dropping = await openTunnel({ ...cfg.dropping, hostKeys, onState: (s) => s.state === 'reconnecting' && reconnecting() });
  console.log('kill-now');
  await sawReconnecting;
  console.log('dropping', dropping.state.state);
  await dropping.close();
  console.log('closed');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
`;
}

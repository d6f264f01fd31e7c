// The test OpenSSH server: a daemon on a free loopback port with a generated ed25519 host key,
// client keys (one plain, one passphrase-protected), an ssh-agent holding the plain key, known_hosts
// files with the right and a wrong host key, and (when running as root) a password user.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, socketAccepts } from './ports';
import type { SshdTestServer, Unavailable } from './servers';
import { killSshd, spawnSshd, sshdBinary } from './sshd-control';

export interface RunningSshd {
  info: SshdTestServer;
  stop(): Promise<void>;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const passwordUserName = 'fdtest';

function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: opts.env ?? process.env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${String(stderr || stdout || err.message).trim()}`));
      else resolve(String(stdout));
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

function which(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin', '/bin']) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function opensshVersion(): number {
  try {
    execFileSync(sshdBinary, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const m = /OpenSSH_(\d+)\.(\d+)/.exec(String((e as { stderr?: string }).stderr ?? ''));
    if (m) return Number(m[1]) + Number(m[2]) / 10;
  }
  return 0;
}

async function keygen(file: string, passphrase: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', path.basename(file), '-f', file]);
}

/** The same password across runs: concurrent test runs on one machine share the OS user, and each
 * resetting it would break the other's password tests. The file is root's alone. */
async function passwordUser(): Promise<{ user: string; password: string }> {
  const file = path.join(os.tmpdir(), 'flightdeck-test-fdtest-password');
  let password: string;
  try {
    password = randomBytes(15).toString('base64url');
    await fsp.writeFile(file, password, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    password = (await fsp.readFile(file, 'utf8')).trim();
  }
  try {
    await run('id', ['-u', passwordUserName]);
  } catch {
    try {
      await run('useradd', ['--create-home', '--shell', '/bin/sh', passwordUserName]);
    } catch (e) {
      // Another run created it between our check and useradd.
      if (!/already exists/.test(String(e))) throw e;
    }
  }
  await run('chpasswd', [], { input: `${passwordUserName}:${password}\n` });
  return { user: passwordUserName, password };
}

export async function startSshd(root: string): Promise<RunningSshd | Unavailable> {
  if (!fs.existsSync(sshdBinary)) return { available: false, reason: `${sshdBinary} not found` };
  for (const tool of ['ssh-keygen', 'ssh-agent', 'ssh-add']) if (!which(tool)) return { available: false, reason: `${tool} not found` };

  const dir = path.join(root, 'sshd');
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const otherHostKey = path.join(dir, 'other_host_ed25519_key');
  const clientKey = path.join(dir, 'id_ed25519');
  const encryptedClientKey = path.join(dir, 'id_ed25519_encrypted');
  const passphrase = randomBytes(12).toString('base64url');
  await Promise.all([keygen(hostKey, ''), keygen(otherHostKey, ''), keygen(clientKey, ''), keygen(encryptedClientKey, passphrase)]);

  const authorizedKeys = path.join(dir, 'authorized_keys');
  const pubs = await Promise.all([clientKey, encryptedClientKey].map((k) => fsp.readFile(k + '.pub', 'utf8')));
  // sshd reads this as the user logging in (also the password user), so it must be world-readable.
  await fsp.writeFile(authorizedKeys, pubs.map((p) => p.trim()).join('\n') + '\n', { mode: 0o644 });

  const fingerprint = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', hostKey + '.pub'])).split(/\s+/)[1] ?? '';

  const port = await freePort();
  const hostKeyLine = (pub: string) => `[127.0.0.1]:${port} ${pub.trim().split(/\s+/).slice(0, 2).join(' ')}\n`;
  const knownHostsFile = path.join(dir, 'known_hosts');
  const wrongKnownHostsFile = path.join(dir, 'known_hosts_wrong');
  await fsp.writeFile(knownHostsFile, hostKeyLine(await fsp.readFile(hostKey + '.pub', 'utf8')));
  await fsp.writeFile(wrongKnownHostsFile, hostKeyLine(await fsp.readFile(otherHostKey + '.pub', 'utf8')));

  const configFile = path.join(dir, 'sshd_config');
  const pidFile = path.join(dir, 'sshd.pid');
  const logFile = path.join(dir, 'sshd.log');
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${pidFile}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'StrictModes no',
    'PermitRootLogin yes',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'AllowTcpForwarding yes',
    'PermitOpen any',
    'AllowAgentForwarding yes',
    // Tests open many tunnels at once; the defaults would start refusing connections.
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    'LogLevel VERBOSE',
    // OpenSSH 9.8+ penalises addresses with failed logins; the auth-failure tests would lock
    // every later test out of 127.0.0.1.
    ...(opensshVersion() >= 9.8 ? ['PerSourcePenalties no'] : []),
    '',
  ].join('\n');
  await fsp.writeFile(configFile, config);

  // The privilege-separation directory sshd insists on when it runs as root.
  if (isRoot) await fsp.mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const files = { port, configFile, pidFile, logFile };
  await spawnSshd(files);

  let agent: ChildProcess | undefined;
  let pwUser: { user: string; password: string } | undefined;
  const agentSocket = path.join(dir, 'agent.sock');
  try {
    agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
    // The socket file appears a moment before the agent listens on it.
    for (const deadline = Date.now() + 10_000; !(await socketAccepts(agentSocket)); ) {
      if (Date.now() > deadline || agent.exitCode !== null) throw new Error('ssh-agent did not open its socket');
      await new Promise((r) => setTimeout(r, 20));
    }
    await run('ssh-add', ['-q', clientKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket } });
    if (isRoot) pwUser = await passwordUser();
  } catch (e) {
    agent?.kill();
    await killSshd(files);
    throw e;
  }
  const runningAgent = agent;

  return {
    info: {
      available: true,
      host: '127.0.0.1',
      port,
      user: os.userInfo().username,
      clientKey,
      encryptedClientKey,
      passphrase,
      knownHostsFile,
      wrongKnownHostsFile,
      hostKeyFingerprint: fingerprint,
      agentSocket,
      ...(pwUser ? { passwordUser: pwUser.user, password: pwUser.password } : {}),
      configFile,
      pidFile,
      logFile,
    },
    async stop() {
      runningAgent.kill();
      await killSshd(files, { signal: 'SIGTERM' });
    },
  };
}

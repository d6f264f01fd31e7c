// `flightdeck connect <url>`: the test-connection result for one database, directly or through SSH.
import { parseArgs } from 'node:util';
import type { TestResult } from '../../shared/api';
import { FlightdeckError } from '../../shared/errors';
import type { Profile, SshHop, SshOptions } from '../../shared/profile';
import { connectProfile, inspectConnection, type ResolvedSecrets } from '../connections/connect';
import { HostKeyPolicy } from '../connections/ssh/host-keys';
import { profileFromUrl, redactUrl } from '../connections/url';
import { createLogger } from '../log';
import { defaultKnownHostsFile } from '../platform/paths';
import { exitCodes, fail, usage } from './output';
import { canPrompt, promptHidden, promptLine } from './prompt';

export const connectHelp = `Usage: flightdeck connect <url> [options]

Connects to one database and prints its version, the current user and what the user may do,
then probes reading and writing (the write probe leaves nothing behind).

  <url>                     postgres://user@host:5432/db?sslmode=require, mysql://user@host/db,
                            mongodb://user@host/db (a password in the URL works but is visible
                            to other local users; prefer the environment)
  --ssh user@host[:port]    go through an SSH tunnel (the URL's host is resolved on the SSH server)
  --ssh-key FILE            private key for SSH (default: the agent when SSH_AUTH_SOCK is set)
  --ssh-password            authenticate to SSH with a password (from FLIGHTDECK_SSH_PASSWORD or a prompt)
  --jump user@host[:port]   reach the SSH server through this bastion (same key or agent)
  --known-hosts FILE        verify SSH host keys against FILE (default ~/.ssh/known_hosts)
  --accept-new-host-key     add an unknown SSH host key to known_hosts (a changed key is always refused)
  --no-write-probe          only read
  --timeout MS              connect timeout (default 10000)
  --json                    print {"ok":true,"result":…} or {"ok":false,"error":…}

Secrets: FLIGHTDECK_DB_PASSWORD (or PGPASSWORD / MYSQL_PWD), FLIGHTDECK_SSH_PASSPHRASE,
FLIGHTDECK_SSH_PASSWORD; on a terminal Flightdeck asks when one is needed.
Exit codes: 0 connected, 1 connection failed, 2 bad command line or URL.`;

function parseHop(spec: string, flag: string): { user: string; host: string; port: number } {
  const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(spec);
  if (!m) throw usage(`${flag} "${spec}" is not user@host[:port].`, `Write it as ${flag} deploy@bastion.example.com:22.`);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw usage(`${flag} port ${port} is out of range.`, 'Use a port between 1 and 65535.');
  return { user: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

export async function connectCommand(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ssh: { type: 'string' },
        'ssh-key': { type: 'string' },
        'ssh-password': { type: 'boolean', default: false },
        jump: { type: 'string' },
        'known-hosts': { type: 'string' },
        'accept-new-host-key': { type: 'boolean', default: false },
        'no-write-probe': { type: 'boolean', default: false },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${connectHelp}\n`);
      return exitCodes.ok;
    }
    if (positionals.length !== 1) throw usage('connect takes exactly one connection URL.', connectHelp.split('\n')[0]!);
    const { profile: parsed, password: urlPassword } = profileFromUrl(positionals[0]!, { id: 'cli' });
    const profile: Profile = { ...parsed };
    if (values.timeout) {
      const t = Number(values.timeout);
      if (!Number.isInteger(t) || t < 500 || t > 120_000) throw usage(`--timeout ${values.timeout} is not a number of milliseconds between 500 and 120000.`, 'For example --timeout 5000.');
      profile.connectTimeoutMs = t;
    }
    if (values.ssh) {
      const hop = parseHop(values.ssh, '--ssh');
      const auth: SshHop['auth'] = values['ssh-password'] ? 'password' : values['ssh-key'] ? 'key' : 'agent';
      if (auth === 'agent' && !process.env.SSH_AUTH_SOCK) {
        throw usage('--ssh needs a way to authenticate: no --ssh-key, no --ssh-password, and SSH_AUTH_SOCK is not set.', 'Pass --ssh-key ~/.ssh/id_ed25519, start ssh-agent, or use --ssh-password.');
      }
      const ssh: SshOptions = {
        ...hop,
        auth,
        ...(values['ssh-key'] ? { keyFile: values['ssh-key'] } : {}),
        knownHostsFile: values['known-hosts'] ?? defaultKnownHostsFile(),
        keepaliveIntervalMs: 10_000,
        ...(values.jump ? { jump: { ...parseHop(values.jump, '--jump'), auth: auth === 'password' ? 'agent' : auth, ...(values['ssh-key'] ? { keyFile: values['ssh-key'] } : {}) } } : {}),
      };
      profile.ssh = ssh;
    } else if (values.jump) {
      throw usage('--jump needs --ssh.', 'Give the SSH server with --ssh user@host and the bastion with --jump.');
    }

    const secrets: ResolvedSecrets = {
      dbPassword: urlPassword ?? process.env.FLIGHTDECK_DB_PASSWORD ?? (profile.engine === 'postgres' ? process.env.PGPASSWORD : profile.engine === 'mysql' ? process.env.MYSQL_PWD : undefined),
      sshPassphrase: process.env.FLIGHTDECK_SSH_PASSPHRASE,
      sshPassword: process.env.FLIGHTDECK_SSH_PASSWORD,
    };
    const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: values['known-hosts'] ?? defaultKnownHostsFile() });
    const log = createLogger(undefined, { stderr: process.env.FLIGHTDECK_DEBUG === '1', minLevel: 'debug' });
    if (profile.ssh?.auth === 'password' && !secrets.sshPassword && canPrompt()) secrets.sshPassword = await promptHidden(`SSH password for ${profile.ssh.user}@${profile.ssh.host}: `);

    const result = await connectWithRetries(profile, secrets, hostKeys, log, { acceptNew: values['accept-new-host-key'], writeProbe: !values['no-write-probe'], url: positionals[0]! });
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, result }, null, 2)}\n`);
    else process.stdout.write(formatResult(result));
    return exitCodes.ok;
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      return fail(usage(e.message, 'Run `flightdeck connect --help`.'), json);
    }
    return fail(e, json);
  }
}

/** Answers what a person at a terminal can answer (an unknown host key, a missing secret), then retries. */
async function connectWithRetries(
  profile: Profile,
  secrets: ResolvedSecrets,
  hostKeys: HostKeyPolicy,
  log: ReturnType<typeof createLogger>,
  o: { acceptNew: boolean; writeProbe: boolean; url: string },
): Promise<TestResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      const conn = await connectProfile(profile, secrets, { hostKeys, log, role: 'connect', reconnect: { maxAttempts: 0 } });
      try {
        return await inspectConnection(conn, { writeProbe: o.writeProbe });
      } finally {
        await conn.close();
      }
    } catch (e) {
      if (!(e instanceof FlightdeckError) || attempt >= 3) throw e;
      if (e.code === 'SSH_HOSTKEY_UNKNOWN' && e.details?.challengeId) {
        const c = e.details as { challengeId: string; host: string; port: number; keyType: string; fingerprint: string; knownHostsFile: string };
        let yes = o.acceptNew;
        if (!yes && canPrompt()) {
          process.stderr.write(`The authenticity of host '[${c.host}]:${c.port}' can't be established.\n${c.keyType} key fingerprint is ${c.fingerprint}.\n`);
          yes = /^y(es)?$/i.test((await promptLine(`Add it to ${c.knownHostsFile} and continue (yes/no)? `)).trim());
        }
        if (!yes) throw e;
        await hostKeys.trust(c.challengeId);
        continue;
      }
      if (!canPrompt()) throw e;
      if (e.code === 'SECRET_MISSING' || (e.code === 'AUTH_FAILED' && secrets.dbPassword === undefined)) {
        secrets.dbPassword = await promptHidden(`Password for ${profile.user || 'the database user'} at ${redactUrl(o.url)}: `);
        continue;
      }
      if (e.code === 'SSH_KEY_UNREADABLE' && secrets.sshPassphrase === undefined && profile.ssh?.keyFile) {
        secrets.sshPassphrase = await promptHidden(`Passphrase for ${profile.ssh.keyFile}: `);
        continue;
      }
      throw e;
    }
  }
}

export function formatResult(r: TestResult): string {
  const lines = [
    `connected   ${r.engine} ${r.serverVersion}${r.inRecovery ? ' (read-only standby)' : ''}`,
    `server      ${r.versionBanner}`,
    `user        ${r.currentUser}${r.sessionUser && r.sessionUser !== r.currentUser ? ` (session ${r.sessionUser})` : ''}`,
    `database    ${r.database || '(none)'}`,
    `route       ${r.via.address}${r.via.ssh ? ` via ssh ${r.via.ssh.host}:${r.via.ssh.port}${r.via.ssh.jump ? ` via ${r.via.ssh.jump}` : ''} (local port ${r.via.ssh.localPort})` : ' direct'}`,
    `tls         ${r.tls.enabled ? `on${r.tls.protocol ? ` ${r.tls.protocol}` : ''}${r.tls.cipher ? ` ${r.tls.cipher}` : ''}` : 'off'}`,
    `attributes  ${Object.entries(r.attributes).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`,
    'grants',
    ...r.grants.map((g) => `  ${g}`),
    `probe       read ${r.probe.read}, write ${r.probe.write}`,
    `            ${r.probe.detail}`,
    `latency     ${r.latencyMs} ms`,
  ];
  return `${lines.join('\n')}\n`;
}

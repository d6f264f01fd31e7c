// What `connect`, `monitor` and `check` share: the connection URL and SSH options on the command line, the
// secrets from the environment or a prompt, and answering an unknown host key at the terminal.
import { FlightdeckError } from '../../shared/errors';
import type { Profile, SshHop, SshOptions } from '../../shared/profile';
import { connectProfile, type ConnectDeps, type OpenConnection, type ResolvedSecrets } from '../connections/connect';
import { assertPgbouncerConsoleProfile, pgbouncerAdminDatabase, pgbouncerDefaultPort, type PgBouncerConsole } from '../connections/pgbouncer-console';
import { HostKeyPolicy } from '../connections/ssh/host-keys';
import { profileFromUrl, redactUrl } from '../connections/url';
import { createLogger, type Logger } from '../log';
import { defaultKnownHostsFile } from '../platform/paths';
import { usage } from './output';
import { canPrompt, promptHidden, promptLine } from './prompt';

export const targetOptions = {
  ssh: { type: 'string' },
  'ssh-key': { type: 'string' },
  'ssh-password': { type: 'boolean', default: false },
  jump: { type: 'string' },
  'known-hosts': { type: 'string' },
  'accept-new-host-key': { type: 'boolean', default: false },
  timeout: { type: 'string' },
} as const;

export const targetHelp = `  --ssh user@host[:port]    go through an SSH tunnel (the URL's host is resolved on the SSH server)
  --ssh-key FILE            private key for SSH (default: the agent when SSH_AUTH_SOCK is set)
  --ssh-password            authenticate to SSH with a password (from FLIGHTDECK_SSH_PASSWORD or a prompt)
  --jump user@host[:port]   reach the SSH server through this bastion (same key or agent)
  --known-hosts FILE        verify SSH host keys against FILE (default ~/.ssh/known_hosts)
  --accept-new-host-key     add an unknown SSH host key to known_hosts (a changed key is always refused)
  --timeout MS              connect timeout (default 10000)`;

export const secretsHelp = `Secrets: FLIGHTDECK_DB_PASSWORD (or PGPASSWORD / MYSQL_PWD), FLIGHTDECK_SSH_PASSPHRASE,
FLIGHTDECK_SSH_PASSWORD; on a terminal Flightdeck asks when one is needed.`;

export interface TargetValues {
  ssh?: string;
  'ssh-key'?: string;
  'ssh-password'?: boolean;
  jump?: string;
  'known-hosts'?: string;
  'accept-new-host-key'?: boolean;
  timeout?: string;
}

export interface Target {
  url: string;
  profile: Profile;
  secrets: ResolvedSecrets;
  hostKeys: HostKeyPolicy;
  acceptNewHostKey: boolean;
  log: Logger;
}

function parseHop(spec: string, flag: string): { user: string; host: string; port: number } {
  const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(spec);
  if (!m) throw usage(`${flag} "${spec}" is not user@host[:port].`, `Write it as ${flag} deploy@bastion.example.com:22.`);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw usage(`${flag} port ${port} is out of range.`, 'Use a port between 1 and 65535.');
  return { user: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

export async function targetFromArgs(url: string, values: TargetValues): Promise<Target> {
  const { profile: parsed, password: urlPassword } = profileFromUrl(url, { id: 'cli' });
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
  if (profile.ssh?.auth === 'password' && !secrets.sshPassword && canPrompt()) secrets.sshPassword = await promptHidden(`SSH password for ${profile.ssh.user}@${profile.ssh.host}: `);
  return {
    url,
    profile,
    secrets,
    hostKeys: new HostKeyPolicy({ defaultKnownHostsFile: values['known-hosts'] ?? defaultKnownHostsFile() }),
    acceptNewHostKey: values['accept-new-host-key'] ?? false,
    log: createLogger(undefined, { stderr: process.env.FLIGHTDECK_DEBUG === '1', minLevel: 'debug' }),
  };
}

/** Connects, answering what a person at a terminal can answer (an unknown host key, a missing secret) and retrying. */
export async function openTarget(t: Target, deps: Omit<ConnectDeps, 'hostKeys' | 'log'>): Promise<OpenConnection> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectProfile(t.profile, t.secrets, { hostKeys: t.hostKeys, log: t.log, reconnect: { maxAttempts: 0 }, ...deps });
    } catch (e) {
      if (!(e instanceof FlightdeckError) || attempt >= 3) throw e;
      if (e.code === 'SSH_HOSTKEY_UNKNOWN' && e.details?.challengeId) {
        const c = e.details as { challengeId: string; host: string; port: number; keyType: string; fingerprint: string; knownHostsFile: string };
        let yes = t.acceptNewHostKey;
        if (!yes && canPrompt()) {
          process.stderr.write(`The authenticity of host '[${c.host}]:${c.port}' can't be established.\n${c.keyType} key fingerprint is ${c.fingerprint}.\n`);
          yes = /^y(es)?$/i.test((await promptLine(`Add it to ${c.knownHostsFile} and continue (yes/no)? `)).trim());
        }
        if (!yes) throw e;
        await t.hostKeys.trust(c.challengeId);
        continue;
      }
      if (!canPrompt()) throw e;
      if (e.code === 'SECRET_MISSING' || (e.code === 'AUTH_FAILED' && t.secrets.dbPassword === undefined)) {
        t.secrets.dbPassword = await promptHidden(`Password for ${t.profile.user || 'the database user'} at ${redactUrl(t.url)}: `);
        continue;
      }
      if (e.code === 'SSH_KEY_UNREADABLE' && t.secrets.sshPassphrase === undefined && t.profile.ssh?.keyFile) {
        t.secrets.sshPassphrase = await promptHidden(`Passphrase for ${t.profile.ssh.keyFile}: `);
        continue;
      }
      throw e;
    }
  }
}

/** --pgbouncer URL as a console target: port 6432 and database pgbouncer unless the URL says
 * otherwise, the password from the URL or FLIGHTDECK_PGBOUNCER_PASSWORD (never production's). */
export function pgbouncerConsole(url: string, timeout: string | undefined): PgBouncerConsole {
  const parsed = profileFromUrl(url, { id: 'pgbouncer', name: 'pgbouncer' });
  const profile = { ...parsed.profile };
  if (!new URL(url).port) profile.port = pgbouncerDefaultPort;
  if (!profile.database) profile.database = pgbouncerAdminDatabase;
  if (timeout && Number.isInteger(Number(timeout)) && Number(timeout) >= 500 && Number(timeout) <= 120_000) profile.connectTimeoutMs = Number(timeout);
  assertPgbouncerConsoleProfile(profile, `--pgbouncer ${redactUrl(url)}`);
  const password = parsed.password ?? process.env.FLIGHTDECK_PGBOUNCER_PASSWORD;
  return { profile, secrets: password === undefined ? {} : { dbPassword: password } };
}

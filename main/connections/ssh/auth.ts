// Credentials for one SSH hop, read and checked before any socket is opened: a missing key file,
// an encrypted key without its passphrase or an empty agent are the user's to fix, and saying so
// beats a generic "authentication failed" from the server after a network round trip.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, KeyboardInteractiveCallback, ParsedKey, Prompt } from 'ssh2';
import type { SshHop } from '../../../shared/profile';
import { FlightdeckError } from '../../../shared/errors';

const { OpenSSHAgent, utils } = ssh2;

export type HopRole = 'ssh' | 'jump';

export interface HopAuth {
  /** What the plan offers, for "tried …" in SSH_AUTH_FAILED messages. */
  readonly description: string;
  /** Auth attempts in order; ssh2 walks them through authHandler. `track` gets any socket opened
   * on the way (to the agent), so the attempt's deadline can close it. `refuse` ends the attempt
   * with an error instead of answering the server (a keyboard-interactive prompt we must not
   * guess at); the caller cuts the connection, so nothing is sent for that prompt. */
  methods(track: (s: Duplex) => void, refuse: (e: FlightdeckError) => void): AnyAuthMethod[];
}

interface HopSecrets {
  password?: string;
  passphrase?: string;
}

/** ssh's own default identities, in its order, for a key profile that names no file. */
const defaultKeyFiles = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** `track` receives every socket opened here, so the caller's deadline can destroy it. */
export async function prepareHopAuth(role: HopRole, hop: SshHop, secrets: HopSecrets, track: (s: Duplex) => void): Promise<HopAuth> {
  const where = role === 'jump' ? 'jump host' : 'SSH';
  switch (hop.auth) {
    case 'password': {
      const password = secrets.password;
      if (password === undefined || password === '') {
        throw new FlightdeckError(
          'SECRET_MISSING',
          `No ${where} password is stored for ${hop.user}@${hop.host}.`,
          `Enter the ${where} password in the connection profile, or switch it to key or agent authentication.`,
          { secretKind: role === 'jump' ? 'jump-password' : 'ssh-password' },
        );
      }
      const username = hop.user;
      // Servers with PasswordAuthentication off often still ask for the password through
      // keyboard-interactive (PAM). Only a prompt for the password gets it: a one-time code or
      // 2FA prompt answered with the password is a failed login the server counts (lockouts,
      // fail2ban), so those end the attempt with an error the user can act on instead.
      const methods = (_track: (s: Duplex) => void, refuse: (e: FlightdeckError) => void): AnyAuthMethod[] => {
        const prompt = (_n: string, _i: string, _l: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) => {
          const decision = answerKeyboardInteractive(prompts, password);
          if ('answers' in decision) finish(decision.answers);
          else refuse(keyboardInteractiveRefused(role, hop, decision));
        };
        return [
          { type: 'password', username, password },
          { type: 'keyboard-interactive', username, prompt },
        ];
      };
      return { description: 'password', methods };
    }
    case 'agent': {
      const socket = hop.agentSocket ?? process.env.SSH_AUTH_SOCK;
      if (!socket) {
        throw new FlightdeckError(
          'SSH_KEY_UNREADABLE',
          `The ${where} profile for ${hop.user}@${hop.host} uses ssh-agent, but no agent socket is set and SSH_AUTH_SOCK is empty.`,
          'Start ssh-agent and add your key (ssh-add), set the agent socket in the profile, or use a key file instead.',
        );
      }
      const count = await agentKeyCount(socket, role, hop, track);
      const username = hop.user;
      return {
        description: `ssh-agent at ${socket} (${count} key${count === 1 ? '' : 's'})`,
        methods: (trackSign) => [{ type: 'agent', username, agent: new TrackedAgent(socket, trackSign) }],
      };
    }
    case 'key': {
      const { file, data } = await readKeyFile(role, hop);
      const key = parsePrivateKey(role, file, data, secrets.passphrase);
      const username = hop.user;
      return {
        description: `public key ${file}`,
        methods: () => [{ type: 'publickey', username, key }],
      };
    }
  }
}

/** A keyboard-interactive round we answer, or the prompt we will not answer and why. */
export type KeyboardInteractiveDecision = { answers: string[] } | { refused: string; reason: 'not-password' | 'password-change' };

/** Words servers use for the account password (PAM prompts are localised on some servers). */
const passwordWords = /password|passwort|passwd|mot de passe|contrase[ñn]a|senha|wachtwoord/i;
/** Prompts that name a password but want something else: one-time and 2FA codes (pam_oath asks
 * for a "One-time password (OATH)"), or a new password for an expired one. */
const secondFactorWords = /one[- ]?time|\botp\b|oath|token|pass ?code|\bcode\b|\bpin\b|verif|two[- ]?factor|\b2fa\b|\bmfa\b|yubi|duo/i;
const passwordChangeWords = /\bnew\b|re-?type|re-?enter|again|confirm/i;

/** Answers a keyboard-interactive round with the password only if every prompt asks for it, and
 * hidden: anything else would spend a failed login on a guess. A round with no prompts (servers
 * send them to show a message) is answered with nothing, as ssh does. */
export function answerKeyboardInteractive(prompts: readonly Prompt[], password: string): KeyboardInteractiveDecision {
  const answers: string[] = [];
  for (const p of prompts) {
    const text = promptText(p.prompt);
    if (p.echo || !passwordWords.test(text) || secondFactorWords.test(text)) return { refused: text, reason: 'not-password' };
    if (passwordChangeWords.test(text)) return { refused: text, reason: 'password-change' };
    answers.push(password);
  }
  return { answers };
}

/** The server chooses the prompt text and it ends up in the UI: one line, no control characters,
 * bounded length. */
function promptText(raw: string): string {
  const flat = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function keyboardInteractiveRefused(role: HopRole, hop: SshHop, d: { refused: string; reason: 'not-password' | 'password-change' }): FlightdeckError {
  const who = `${role === 'jump' ? 'jump host' : 'SSH server'} ${hop.user}@${hop.host}:${hop.port}`;
  const details = { prompt: d.refused };
  if (d.reason === 'password-change') {
    return new FlightdeckError(
      'SSH_AUTH_FAILED',
      `The ${who} wants the password changed before signing in (it asked: "${d.refused}").`,
      `Sign in once with ssh in a terminal to set a new password, then store the new one in the connection profile.`,
      details,
    );
  }
  return new FlightdeckError(
    'SSH_AUTH_FAILED',
    `The ${who} asked for something other than the password while signing in: "${d.refused}".`,
    'Flightdeck does not answer interactive challenges such as one-time codes or 2FA prompts. Use ssh-agent or a key file for this server, or connect through a bastion (jump host) that does not require 2FA.',
    details,
  );
}

async function readKeyFile(role: HopRole, hop: SshHop): Promise<{ file: string; data: Buffer }> {
  const where = role === 'jump' ? 'jump host' : 'SSH';
  const candidates = hop.keyFile ? [expandHome(hop.keyFile)] : defaultKeyFiles.map((f) => join(homedir(), '.ssh', f));
  const problems: string[] = [];
  for (const file of candidates) {
    try {
      return { file, data: await readFile(file) };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'does not exist' : err.code === 'EACCES' ? 'is not readable (permission denied)' : err.code === 'EISDIR' ? 'is a folder' : err.message;
      problems.push(`${file} ${why}`);
      if (hop.keyFile) break;
    }
  }
  throw new FlightdeckError(
    'SSH_KEY_UNREADABLE',
    hop.keyFile
      ? `Cannot read the ${where} key file: ${problems.join('; ')}.`
      : `No ${where} key file is set for ${hop.user}@${hop.host}, and none of the default keys can be read (${problems.join('; ')}).`,
    'Choose the private key file in the connection profile (the file without .pub), and check that the user running Flightdeck can read it.',
    { keyFile: candidates[0] },
  );
}

function parsePrivateKey(role: HopRole, file: string, data: Buffer, passphrase: string | undefined): ParsedKey {
  const kind = role === 'jump' ? 'jump-key-passphrase' : 'ssh-key-passphrase';
  const parsed = utils.parseKey(data, passphrase || undefined);
  if (parsed instanceof Error) {
    const msg = parsed.message;
    if (/no passphrase given/i.test(msg)) {
      throw new FlightdeckError(
        'SSH_KEY_UNREADABLE',
        `The key file ${file} is encrypted and no passphrase is stored for it.`,
        'Enter the key\'s passphrase in the connection profile, or load the key into ssh-agent and use agent authentication.',
        { keyFile: file, secretKind: kind },
      );
    }
    if (passphrase && /passphrase|integrity check|bad decrypt|malformed/i.test(msg)) {
      throw new FlightdeckError(
        'SSH_KEY_UNREADABLE',
        `The passphrase does not unlock the key file ${file}.`,
        'Re-enter the key\'s passphrase in the connection profile (check it with: ssh-keygen -y -f <key file>).',
        { keyFile: file, secretKind: kind },
      );
    }
    throw new FlightdeckError(
      'SSH_KEY_UNREADABLE',
      `The file ${file} is not a private key Flightdeck can read (${msg}).`,
      'Choose an OpenSSH or PEM private key (ed25519, ECDSA or RSA). A PuTTY .ppk key must be exported to OpenSSH format first.',
      { keyFile: file },
    );
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) {
    throw new FlightdeckError(
      'SSH_KEY_UNREADABLE',
      `The file ${file} holds a public key, not a private one.`,
      'Choose the private key file: usually the same name without .pub.',
      { keyFile: file },
    );
  }
  // A passphrase stored for a key that is not encrypted is ignored, as ssh ignores it.
  return key;
}

/** OpenSSHAgent that hands its sockets out: a hung agent would otherwise hold one open forever. */
class TrackedAgent extends OpenSSHAgent {
  constructor(
    socketPath: string,
    private readonly track: (s: Duplex) => void,
  ) {
    super(socketPath);
  }

  override getStream(cb: (err: Error | null | undefined, stream?: Duplex) => void): void {
    super.getStream((err, stream) => {
      if (stream) this.track(stream);
      cb(err, stream);
    });
  }
}

function agentKeyCount(socket: string, role: HopRole, hop: SshHop, track: (s: Duplex) => void): Promise<number> {
  const where = role === 'jump' ? 'jump host' : 'SSH';
  return new Promise((resolve, reject) => {
    new TrackedAgent(socket, track).getIdentities((err, keys) => {
      if (err) {
        reject(
          new FlightdeckError(
            'SSH_KEY_UNREADABLE',
            `Cannot talk to ssh-agent at ${socket} for the ${where} connection to ${hop.host}: ${err.message}.`,
            'Check that ssh-agent is running and that the profile (or SSH_AUTH_SOCK) points at its socket.',
          ),
        );
        return;
      }
      const n = keys?.length ?? 0;
      if (n === 0) {
        reject(
          new FlightdeckError(
            'SSH_KEY_UNREADABLE',
            `ssh-agent at ${socket} holds no keys.`,
            'Add your key to the agent (ssh-add <key file>), or use a key file in the profile.',
          ),
        );
        return;
      }
      resolve(n);
    });
  });
}

function expandHome(file: string): string {
  return file === '~' || file.startsWith('~/') ? join(homedir(), file.slice(1)) : file;
}

/** authHandler for ssh2 that walks our plan, skipping methods the server does not offer, and
 * records what was tried and what the server accepts for the failure message. */
export function makeAuthHandler(plan: AnyAuthMethod[]) {
  const record = { tried: [] as string[], serverAccepts: undefined as string[] | undefined, partial: false };
  const queue = [...plan];
  const handler = (methodsLeft: AuthenticationType[] | null, partialSuccess: boolean | null, next: (m: AnyAuthMethod | false) => void) => {
    if (methodsLeft) record.serverAccepts = methodsLeft;
    if (partialSuccess) record.partial = true;
    for (;;) {
      const m = queue.shift();
      if (!m) {
        next(false);
        return;
      }
      const wire = m.type === 'agent' ? 'publickey' : m.type;
      if (methodsLeft && !methodsLeft.includes(wire)) continue;
      if (!record.tried.includes(m.type)) record.tried.push(m.type);
      next(m);
      return;
    }
  };
  return { handler, record };
}

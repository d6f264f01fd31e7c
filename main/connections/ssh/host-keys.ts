// Host key policy: a server's key must be in known_hosts before any credential is sent to it.
// An unknown key is refused with a challenge the user can accept (trust), which writes exactly the
// key that was shown; a key that differs from the known one is refused with no way around it in
// the app, because that is what a man in the middle looks like.
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { HostKeyChallenge } from '../../../shared/api';
import { FlightdeckError } from '../../../shared/errors';
import {
  appendKnownHost,
  fingerprintSha256,
  hostKeyName,
  keyTypeOf,
  knownKeyTypes,
  lookupHostKey,
  readKnownHostsFile,
  type KnownHostsEntry,
} from './known-hosts';

/** Long enough to read a fingerprint and compare it out of band; short enough that an old
 * challenge is not accepted for a host whose situation may have changed since. */
const CHALLENGE_TTL_MS = 10 * 60_000;
/** Challenges only come from connection attempts, but a loop of attempts must not grow memory. */
const MAX_PENDING = 200;

/** Host key algorithms ssh2 can negotiate, per key blob type. */
const algorithmsForKeyType: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};
const defaultAlgorithms = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

export interface HostEndpoint {
  host: string;
  port: number;
  /** known_hosts file for this endpoint; the policy's default when absent. */
  knownHostsFile?: string;
}

/** What one connection attempt needs: algorithm preference before the handshake, and the verdict
 * on the key the server presents during it. */
export interface HostKeyCheck {
  readonly knownHostsFile: string;
  /** Known key types first, as OpenSSH orders them, so a server with several host keys shows us
   * the one we can verify instead of one that would look unknown or changed. */
  readonly hostKeyAlgorithms: string[];
  /** undefined when the key is trusted; otherwise the error to fail the connection with. */
  verify(key: Buffer): FlightdeckError | undefined;
}

interface PendingChallenge {
  challenge: HostKeyChallenge;
  key: Buffer;
  expiresAt: number;
}

export class HostKeyPolicy {
  readonly defaultKnownHostsFile: string;
  private readonly pending = new Map<string, PendingChallenge>();
  /** Appends are serialised so two trusts never interleave bytes in the file. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(opts: { defaultKnownHostsFile?: string } = {}) {
    this.defaultKnownHostsFile = opts.defaultKnownHostsFile ?? join(homedir(), '.ssh', 'known_hosts');
  }

  /** Reads the known_hosts file afresh (a trust or a hand edit since the last attempt counts). */
  async prepare(endpoint: HostEndpoint): Promise<HostKeyCheck> {
    const knownHostsFile = endpoint.knownHostsFile ?? this.defaultKnownHostsFile;
    let entries: KnownHostsEntry[];
    try {
      entries = await readKnownHostsFile(knownHostsFile);
    } catch (e) {
      throw new FlightdeckError(
        'SSH_FAILED',
        `Cannot read known_hosts file ${knownHostsFile}: ${(e as Error).message}`,
        'Check that the file is readable by the user running Flightdeck, or choose another known_hosts file in the profile.',
      );
    }
    const preferred = knownKeyTypes(entries, endpoint.host, endpoint.port).flatMap((t) => algorithmsForKeyType[t] ?? []);
    const hostKeyAlgorithms = [...new Set([...preferred, ...defaultAlgorithms])];
    return {
      knownHostsFile,
      hostKeyAlgorithms,
      verify: (key) => this.verdict(entries, endpoint.host, endpoint.port, knownHostsFile, key),
    };
  }

  /** Appends the key shown in the challenge to its known_hosts file. The challenge is single use. */
  async trust(challengeId: string): Promise<void> {
    this.purgeExpired();
    const p = this.pending.get(challengeId);
    if (!p) {
      throw new FlightdeckError(
        'NOT_FOUND',
        'This host key confirmation has expired or was already used.',
        'Connect again to see the host key fingerprint, then confirm it within 10 minutes.',
      );
    }
    const { host, port, knownHostsFile } = p.challenge;
    const write = this.writes.then(async () => {
      // The file may have changed since the challenge (another window, a hand edit): re-check so
      // trust can only ever add a key for a host that is still unknown, never override one.
      const entries = await readKnownHostsFile(knownHostsFile);
      const now = lookupHostKey(entries, host, port, p.key);
      if (now.status === 'known') return;
      if (now.status !== 'unknown') throw this.verdict(entries, host, port, knownHostsFile, p.key);
      await appendKnownHost(knownHostsFile, host, port, p.key);
    });
    this.writes = write.catch(() => undefined);
    try {
      await write;
    } catch (e) {
      if (e instanceof FlightdeckError) throw e;
      throw new FlightdeckError(
        'SSH_FAILED',
        `Cannot write known_hosts file ${knownHostsFile}: ${(e as Error).message}`,
        'Check that the file and its folder are writable by the user running Flightdeck.',
      );
    }
    this.pending.delete(challengeId);
  }

  private verdict(entries: KnownHostsEntry[], host: string, port: number, knownHostsFile: string, key: Buffer): FlightdeckError | undefined {
    let keyType: string;
    try {
      keyType = keyTypeOf(key);
    } catch {
      return new FlightdeckError('SSH_FAILED', `The SSH server ${host}:${port} sent a malformed host key.`, 'This is not an SSH server Flightdeck can talk to; check host and port.');
    }
    const fingerprint = fingerprintSha256(key);
    const result = lookupHostKey(entries, host, port, key);
    const name = hostKeyName(host, port);
    switch (result.status) {
      case 'known':
        return undefined;
      case 'unknown': {
        const challenge = this.challengeFor({ host, port, keyType, fingerprint, knownHostsFile }, key);
        return new FlightdeckError(
          'SSH_HOSTKEY_UNKNOWN',
          `The host key of ${name} is not in ${knownHostsFile}. It is ${keyType} ${fingerprint}.`,
          'Compare the fingerprint with the one your server administrator gives you (ssh-keygen -lf on the server\'s host key), then trust it to add it to known_hosts.',
          challenge,
        );
      }
      case 'changed':
        return new FlightdeckError(
          'SSH_HOSTKEY_CHANGED',
          `The host key of ${name} is not the one in ${knownHostsFile} (line ${result.lines.join(', ')}): the server now presents ${keyType} ${fingerprint}. Someone may be intercepting the connection, or the server was reinstalled.`,
          `Do not connect until the new key is verified out of band with the server's administrator. If it is legitimate, remove the old entry (ssh-keygen -R '${name}' -f ${knownHostsFile}) and connect again.`,
          { host, port, keyType, fingerprint, knownHostsFile },
        );
      case 'revoked':
        return new FlightdeckError(
          'SSH_HOSTKEY_CHANGED',
          `The host key ${keyType} ${fingerprint} of ${name} is marked @revoked in ${knownHostsFile} (line ${result.line}).`,
          'A revoked key must not be used. Ask the server\'s administrator for its current host key and verify it out of band.',
          { host, port, keyType, fingerprint, knownHostsFile },
        );
    }
  }

  private challengeFor(c: Omit<HostKeyChallenge, 'challengeId'>, key: Buffer): HostKeyChallenge {
    this.purgeExpired();
    const expiresAt = Date.now() + CHALLENGE_TTL_MS;
    // Repeated attempts against the same unknown key share one challenge.
    for (const p of this.pending.values()) {
      const pc = p.challenge;
      if (pc.host === c.host && pc.port === c.port && pc.knownHostsFile === c.knownHostsFile && p.key.equals(key)) {
        p.expiresAt = expiresAt;
        return { ...pc };
      }
    }
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    const challenge: HostKeyChallenge = { challengeId: randomUUID(), ...c };
    this.pending.set(challenge.challengeId, { challenge, key: Buffer.from(key), expiresAt });
    return { ...challenge };
  }

  /** Expiry is checked on use rather than by a timer, so the policy never keeps the process alive. */
  private purgeExpired(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(id);
  }
}

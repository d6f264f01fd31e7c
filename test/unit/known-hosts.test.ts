// known_hosts parsing and matching, checked against what OpenSSH's own tools write and print.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  entryMatchesHost,
  fingerprintSha256,
  formatKnownHostsLine,
  hostKeyName,
  keyTypeOf,
  knownKeyTypes,
  lookupHostKey,
  parseKnownHosts,
  readKnownHostsFile,
} from '../../main/connections/ssh/known-hosts';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { FlightdeckError } from '../../shared/errors';

let dir: string;
/** Two real ed25519 public keys and one ECDSA one, as blobs and as written in .pub files. */
const keys: Record<'a' | 'b' | 'ecdsa', { blob: Buffer; b64: string; type: string; pubFile: string }> = {} as never;

function keygen(name: string, type: string): void {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', file]);
  const [t, b64] = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  keys[name as 'a'] = { blob: Buffer.from(b64, 'base64'), b64, type: t, pubFile: `${file}.pub` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fd-known-hosts-'));
  keygen('a', 'ed25519');
  keygen('b', 'ed25519');
  keygen('ecdsa', 'ecdsa');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('parseKnownHosts', () => {
  it('reads entries and skips comments, blank lines and garbage', () => {
    const text = [
      '# a comment',
      '',
      '   ',
      `db.example.com ${keys.a.type} ${keys.a.b64} root@laptop`,
      'not-a-valid-line',
      `@cert-authority *.example.com ${keys.b.type} ${keys.b.b64}`,
      `@revoked bad.example.com ${keys.b.type} ${keys.b.b64}`,
      `@unknown-marker x ${keys.b.type} ${keys.b.b64}`,
      `\t[10.0.0.5]:2222,bastion\t${keys.ecdsa.type} ${keys.ecdsa.b64}\r`,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries).toEqual([
      { line: 4, hosts: 'db.example.com', keyType: keys.a.type, keyBase64: keys.a.b64, comment: 'root@laptop' },
      { line: 6, marker: 'cert-authority', hosts: '*.example.com', keyType: keys.b.type, keyBase64: keys.b.b64 },
      { line: 7, marker: 'revoked', hosts: 'bad.example.com', keyType: keys.b.type, keyBase64: keys.b.b64 },
      { line: 9, hosts: '[10.0.0.5]:2222,bastion', keyType: keys.ecdsa.type, keyBase64: keys.ecdsa.b64 },
    ]);
  });
});

describe('host matching', () => {
  it('names a host bare on port 22 and as [host]:port otherwise, lower-cased', () => {
    expect(hostKeyName('DB.Example.com', 22)).toBe('db.example.com');
    expect(hostKeyName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('matches plain names, comma lists, [host]:port and wildcards; a negation vetoes', () => {
    expect(entryMatchesHost('db.example.com', 'db.example.com')).toBe(true);
    expect(entryMatchesHost('DB.example.COM', 'db.example.com')).toBe(true);
    expect(entryMatchesHost('db.example.com', '[db.example.com]:2222')).toBe(false);
    expect(entryMatchesHost('[db.example.com]:2222', 'db.example.com')).toBe(false);
    expect(entryMatchesHost('[db.example.com]:2222', '[db.example.com]:2222')).toBe(true);
    expect(entryMatchesHost('other,db.example.com,10.0.0.1', 'db.example.com')).toBe(true);
    expect(entryMatchesHost('other,10.0.0.1', 'db.example.com')).toBe(false);
    expect(entryMatchesHost('*.example.com', 'db.example.com')).toBe(true);
    expect(entryMatchesHost('db?.example.com', 'db1.example.com')).toBe(true);
    expect(entryMatchesHost('*.example.com,!db.example.com', 'db.example.com')).toBe(false);
    // Dots in patterns are literal, not regex wildcards.
    expect(entryMatchesHost('db.example.com', 'dbxexample.com')).toBe(false);
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'hashed_known_hosts');
    writeFileSync(file, `db.example.com ${keys.a.type} ${keys.a.b64}\n[127.0.0.1]:2222 ${keys.b.type} ${keys.b.b64}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e.hosts).toMatch(/^\|1\|[^|]+\|[^|]+$/);
    expect(lookupHostKey(entries, 'db.example.com', 22, keys.a.blob)).toEqual({ status: 'known', line: 1 });
    expect(lookupHostKey(entries, '127.0.0.1', 2222, keys.b.blob)).toEqual({ status: 'known', line: 2 });
    expect(lookupHostKey(entries, '127.0.0.1', 22, keys.b.blob)).toEqual({ status: 'unknown' });
    expect(lookupHostKey(entries, 'db.example.com', 22, keys.b.blob)).toMatchObject({ status: 'changed', lines: [1] });
  });
});

describe('lookupHostKey', () => {
  const text = () =>
    [
      `db.example.com ${keys.a.type} ${keys.a.b64}`,
      `[db.example.com]:2222 ${keys.b.type} ${keys.b.b64}`,
      `@revoked old.example.com ${keys.a.type} ${keys.a.b64}`,
      `old.example.com ${keys.a.type} ${keys.a.b64}`,
      `@cert-authority ca.example.com ${keys.b.type} ${keys.b.b64}`,
    ].join('\n');

  it('knows a listed key, and tells unknown hosts from changed keys', () => {
    const entries = parseKnownHosts(text());
    expect(lookupHostKey(entries, 'db.example.com', 22, keys.a.blob)).toEqual({ status: 'known', line: 1 });
    expect(lookupHostKey(entries, 'db.example.com', 2222, keys.b.blob)).toEqual({ status: 'known', line: 2 });
    expect(lookupHostKey(entries, 'db.example.com', 22, keys.b.blob)).toEqual({ status: 'changed', lines: [1], knownKeyTypes: [keys.a.type] });
    expect(lookupHostKey(entries, 'db.example.com', 2222, keys.a.blob)).toEqual({ status: 'changed', lines: [2], knownKeyTypes: [keys.b.type] });
    expect(lookupHostKey(entries, 'new.example.com', 22, keys.a.blob)).toEqual({ status: 'unknown' });
  });

  it('treats a key of another type than the known one as changed, not new', () => {
    const entries = parseKnownHosts(text());
    expect(lookupHostKey(entries, 'db.example.com', 22, keys.ecdsa.blob)).toMatchObject({ status: 'changed' });
  });

  it('refuses a @revoked key even when another line lists it as good', () => {
    const entries = parseKnownHosts(text());
    expect(lookupHostKey(entries, 'old.example.com', 22, keys.a.blob)).toEqual({ status: 'revoked', line: 3 });
  });

  it('ignores @cert-authority lines', () => {
    const entries = parseKnownHosts(text());
    expect(lookupHostKey(entries, 'ca.example.com', 22, keys.b.blob)).toEqual({ status: 'unknown' });
  });

  it('lists known key types for algorithm preference, skipping marked lines', () => {
    const entries = parseKnownHosts(`${text()}\ndb.example.com ${keys.ecdsa.type} ${keys.ecdsa.b64}\n`);
    expect(knownKeyTypes(entries, 'db.example.com', 22)).toEqual([keys.a.type, keys.ecdsa.type]);
    expect(knownKeyTypes(entries, 'ca.example.com', 22)).toEqual([]);
  });
});

describe('fingerprints and key types', () => {
  it('prints SHA256 fingerprints exactly as ssh-keygen -lf does', () => {
    for (const k of [keys.a, keys.b, keys.ecdsa]) {
      const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.pubFile], { encoding: 'utf8' });
      expect(fingerprintSha256(k.blob)).toBe(out.split(/\s+/)[1]);
    }
  });

  it('reads the key type from the blob', () => {
    expect(keyTypeOf(keys.a.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(keys.ecdsa.blob)).toBe('ecdsa-sha2-nistp256');
    expect(() => keyTypeOf(Buffer.from([0, 0, 0, 9, 1]))).toThrow(/malformed/);
  });
});

describe('appendKnownHost', () => {
  it('creates folder (0700) and file (0600) and writes a line ssh-keygen -F finds', async () => {
    const file = join(dir, 'new', 'sub', 'known_hosts');
    const line = await appendKnownHost(file, '127.0.0.1', 2222, keys.a.blob);
    expect(line).toBe(`[127.0.0.1]:2222 ${keys.a.type} ${keys.a.b64}`);
    expect(readFileSync(file, 'utf8')).toBe(`${line}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'new', 'sub')).mode & 0o777).toBe(0o700);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(keys.a.b64);
    await appendKnownHost(file, 'db.example.com', 22, keys.b.blob);
    expect(readFileSync(file, 'utf8')).toBe(`${line}\n${formatKnownHostsLine('db.example.com', 22, keys.b.blob)}\n`);
    expect(formatKnownHostsLine('db.example.com', 22, keys.b.blob)).toBe(`db.example.com ${keys.b.type} ${keys.b.b64}`);
  });

  it('does not glue the new line onto a last line without a newline', async () => {
    const file = join(dir, 'no_newline');
    writeFileSync(file, `db.example.com ${keys.a.type} ${keys.a.b64}`);
    await appendKnownHost(file, 'other.example.com', 22, keys.b.blob);
    const entries = await readKnownHostsFile(file);
    expect(entries.map((e) => e.hosts)).toEqual(['db.example.com', 'other.example.com']);
  });

  it('reads a missing file as empty', async () => {
    expect(await readKnownHostsFile(join(dir, 'does-not-exist'))).toEqual([]);
  });
});

describe('HostKeyPolicy', () => {
  it('turns an unknown key into a challenge that trust() writes once', async () => {
    const file = join(dir, 'policy', 'known_hosts');
    const policy = new HostKeyPolicy({ defaultKnownHostsFile: file });
    const check = await policy.prepare({ host: '127.0.0.1', port: 2200 });
    expect(check.knownHostsFile).toBe(file);
    const err = check.verify(keys.a.blob);
    expect(err).toBeInstanceOf(FlightdeckError);
    expect(err?.code).toBe('SSH_HOSTKEY_UNKNOWN');
    const challenge = err?.details as { challengeId: string; fingerprint: string; keyType: string; host: string; port: number; knownHostsFile: string };
    expect(challenge).toMatchObject({ host: '127.0.0.1', port: 2200, keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(keys.a.blob), knownHostsFile: file });
    // The same key again reuses the challenge rather than piling up new ones.
    expect((check.verify(keys.a.blob)?.details as { challengeId: string }).challengeId).toBe(challenge.challengeId);

    await policy.trust(challenge.challengeId);
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:2200 ${keys.a.type} ${keys.a.b64}\n`);
    await expect(policy.trust(challenge.challengeId)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const again = await policy.prepare({ host: '127.0.0.1', port: 2200 });
    expect(again.verify(keys.a.blob)).toBeUndefined();
    const changed = again.verify(keys.b.blob);
    expect(changed?.code).toBe('SSH_HOSTKEY_CHANGED');
    expect(changed?.hint).toContain('ssh-keygen -R');
    // A changed key yields no challenge: there is nothing the app could trust.
    expect(changed?.details).not.toHaveProperty('challengeId');
  });

  it('refuses to trust a key once the host got another key meanwhile', async () => {
    const file = join(dir, 'policy-race', 'known_hosts');
    const policy = new HostKeyPolicy({ defaultKnownHostsFile: file });
    const check = await policy.prepare({ host: 'db.example.com', port: 22 });
    const challenge = check.verify(keys.a.blob)?.details as { challengeId: string };
    await appendKnownHost(file, 'db.example.com', 22, keys.b.blob);
    await expect(policy.trust(challenge.challengeId)).rejects.toMatchObject({ code: 'SSH_HOSTKEY_CHANGED' });
    expect(parseKnownHosts(readFileSync(file, 'utf8'))).toHaveLength(1);
  });

  it('prefers the host key algorithms of keys already known', async () => {
    const file = join(dir, 'policy-algos');
    writeFileSync(file, `[db.example.com]:2222 ${keys.ecdsa.type} ${keys.ecdsa.b64}\n`);
    const policy = new HostKeyPolicy();
    const check = await policy.prepare({ host: 'db.example.com', port: 2222, knownHostsFile: file });
    expect(check.hostKeyAlgorithms[0]).toBe('ecdsa-sha2-nistp256');
    expect(check.hostKeyAlgorithms).toContain('ssh-ed25519');
    const revoked = join(dir, 'policy-revoked');
    writeFileSync(revoked, `@revoked [db.example.com]:2222 ${keys.a.type} ${keys.a.b64}\n`);
    const r = await policy.prepare({ host: 'db.example.com', port: 2222, knownHostsFile: revoked });
    expect(r.verify(keys.a.blob)?.code).toBe('SSH_HOSTKEY_CHANGED');
  });
});

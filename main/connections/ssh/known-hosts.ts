// OpenSSH known_hosts: parse, match a host's key, append a trusted key, fingerprint a key.
//
// Written by hand: npm has no maintained parser for this format (per `npm view`: `known-hosts` is
// a single 0.1.0 release that only splits lines into an array, `sshpk` parses keys but not host
// files), and the rules that matter for safety (hashed names, `[host]:port`, negated patterns,
// `@revoked`) are few enough to keep here beside their tests.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { appendFile, chmod, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type KnownHostsMarker = 'revoked' | 'cert-authority';

export interface KnownHostsEntry {
  /** 1-based line number, so messages can point the user at the line to edit. */
  line: number;
  marker?: KnownHostsMarker;
  /** The host field as written: a comma list of patterns, or one `|1|salt|hash` entry. */
  hosts: string;
  keyType: string;
  /** The key blob, base64 as written in the file. */
  keyBase64: string;
  comment?: string;
}

export type HostKeyLookup =
  /** The host is listed with exactly this key. */
  | { status: 'known'; line: number }
  /** The host is not listed at all. */
  | { status: 'unknown' }
  /** The host is listed, but with other keys; `lines` says where, for the hint. */
  | { status: 'changed'; lines: number[]; knownKeyTypes: string[] }
  /** This key is marked `@revoked` for the host. */
  | { status: 'revoked'; line: number };

/** Parses known_hosts text. Lines that are not entries (comments, blanks, garbage) are skipped,
 * as OpenSSH skips them, rather than failing the whole file over one bad line. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostsMarker | undefined;
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [hosts, keyType, keyBase64, ...rest] = fields;
    if (!hosts || !keyType || !keyBase64) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) continue;
    const entry: KnownHostsEntry = { line: i + 1, hosts, keyType, keyBase64 };
    if (marker) entry.marker = marker;
    if (rest.length > 0) entry.comment = rest.join(' ');
    entries.push(entry);
  }
  return entries;
}

/** The name OpenSSH looks up for a host: bare on port 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Whether an entry's host field applies to `name` (as built by hostKeyName). */
export function entryMatchesHost(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern === '') continue;
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    if (wildcardMatch(p.toLowerCase(), name)) {
      // A negated pattern vetoes the whole entry, whatever else on the line matches.
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** OpenSSH's `*` and `?` host wildcards; everything else is literal. */
function wildcardMatch(pattern: string, text: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === text;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(text);
}

/** Decides what the file says about `key` for host:port. */
export function lookupHostKey(entries: KnownHostsEntry[], host: string, port: number, key: Buffer): HostKeyLookup {
  const name = hostKeyName(host, port);
  const keyB64 = key.toString('base64');
  const others: KnownHostsEntry[] = [];
  let known: KnownHostsEntry | undefined;
  for (const e of entries) {
    // ssh2 cannot verify host certificates, and we never offer certificate host key algorithms,
    // so a CA line can neither vouch for nor speak against the plain key the server presents.
    if (e.marker === 'cert-authority') continue;
    if (!entryMatchesHost(e.hosts, name)) continue;
    const same = e.keyBase64 === keyB64;
    // Revocation wins over any other line that lists the same key as good.
    if (e.marker === 'revoked') {
      if (same) return { status: 'revoked', line: e.line };
      continue;
    }
    if (same) known ??= e;
    else others.push(e);
  }
  if (known) return { status: 'known', line: known.line };
  if (others.length > 0) {
    return { status: 'changed', lines: others.map((e) => e.line), knownKeyTypes: [...new Set(others.map((e) => e.keyType))] };
  }
  return { status: 'unknown' };
}

/** Key types the file lists (not revoked) for host:port, in file order; used to prefer those host
 * key algorithms so a server with several host keys presents the one we already know. */
export function knownKeyTypes(entries: KnownHostsEntry[], host: string, port: number): string[] {
  const name = hostKeyName(host, port);
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker) continue;
    if (entryMatchesHost(e.hosts, name) && !types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

/** The algorithm name inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) throw new Error('malformed SSH public key');
  const len = key.readUInt32BE(0);
  if (len > key.length - 4) throw new Error('malformed SSH public key');
  return key.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` and ssh print it. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The line trust() writes: OpenSSH's own format for a host key learned on first connect. */
export function formatKnownHostsLine(host: string, port: number, key: Buffer): string {
  return `${hostKeyName(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/** Entries of a file; a missing file is an empty one (nothing trusted yet). */
export async function readKnownHostsFile(file: string): Promise<KnownHostsEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Appends one line, creating the directory (0700) and file (0600) if missing, as ssh would. */
export async function appendKnownHost(file: string, host: string, port: number, key: Buffer): Promise<string> {
  const line = formatKnownHostsLine(host, port, key);
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const fh = await open(file, fsConstants.O_RDONLY);
    try {
      const { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        // A hand-edited file may lack the final newline; without one our entry would be glued
        // onto the last key and corrupt both.
        if (last[0] !== 0x0a) prefix = '\n';
      }
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await appendFile(file, '', { mode: 0o600 });
    // mode on create is filtered by the umask; the file holds who we trust, so pin it.
    await chmod(file, 0o600);
  }
  await appendFile(file, `${prefix}${line}\n`);
  return line;
}

// Secrets encrypted with Electron's safeStorage (Keychain on macOS, DPAPI on Windows, libsecret or
// KWallet on Linux) and kept as base64 in <userData>/secrets.json, mode 0600, replaced atomically.
//
// On Linux without a keyring, Chromium falls back to 'basic_text': "encryption" with a key that is
// hard-coded in every Chromium build. That is obfuscation, not protection, so this store refuses to
// write secrets then and says how to supply them instead (environment variables, or a keyring).
//
// Electron is imported for types only, so the store is unit-tested in Node with a stand-in cipher.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SafeStorage } from 'electron';
import { FlightdeckError } from '../../shared/errors';
import type { SecretKind } from '../../shared/profile';
import { envSecretName, type SecretStore } from '../secrets/secret-store';

export type SafeStorageLike = Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'>;

export interface SafeStorageSecretStoreOptions {
  /** Usually path.join(app.getPath('userData'), 'secrets.json'). */
  file: string;
  safeStorage: SafeStorageLike;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
}

interface SecretsFile {
  version: 1;
  /** profile id → secret kind → base64 of safeStorage.encryptString(value) */
  secrets: Record<string, Partial<Record<SecretKind, string>>>;
}

type Availability = { ok: true; backend: string } | { ok: false; backend: string; reason: string };

const keyringHint =
  'Run a keyring (GNOME Keyring / libsecret or KWallet) in your desktop session and restart Flightdeck, or give the secret through the environment instead';

export class SafeStorageSecretStore implements SecretStore {
  readonly kind = 'safe-storage' as const;
  private readonly file: string;
  private readonly safeStorage: SafeStorageLike;
  private readonly platform: NodeJS.Platform;
  private readonly env: NodeJS.ProcessEnv;
  private data: SecretsFile | undefined;
  /** Writes run one after another so a slow rename cannot reorder two saves. */
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: SafeStorageSecretStoreOptions) {
    this.file = opts.file;
    this.safeStorage = opts.safeStorage;
    this.platform = opts.platform ?? process.platform;
    this.env = opts.env ?? process.env;
  }

  private availability(): Availability {
    if (this.platform === 'linux') {
      const backend = this.safeStorage.getSelectedStorageBackend();
      if (backend === 'basic_text') {
        return {
          ok: false,
          backend,
          reason:
            'No OS keyring (GNOME Keyring / libsecret or KWallet) is available, so Electron would encrypt passwords with a key hard-coded in Chromium; Flightdeck does not store secrets that way.',
        };
      }
      if (!this.safeStorage.isEncryptionAvailable()) {
        return { ok: false, backend, reason: `The OS keyring (${backend}) did not provide an encryption key.` };
      }
      return { ok: true, backend };
    }
    const backend = this.platform === 'darwin' ? 'keychain' : this.platform === 'win32' ? 'dpapi' : this.platform;
    if (!this.safeStorage.isEncryptionAvailable()) {
      return { ok: false, backend, reason: `The OS secret storage (${backend}) is not available to Flightdeck.` };
    }
    return { ok: true, backend };
  }

  describe() {
    const a = this.availability();
    return a.ok ? { persistent: true, backend: a.backend } : { persistent: false, backend: a.backend, reason: `${a.reason} Set FLIGHTDECK_SECRET_<PROFILE>_<KIND> environment variables instead.` };
  }

  private async load(): Promise<SecretsFile> {
    if (this.data) return this.data;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return (this.data = { version: 1, secrets: {} });
      throw new FlightdeckError('SECRET_STORAGE_UNAVAILABLE', `Cannot read ${this.file}: ${(e as Error).message}.`, 'Check that the file belongs to you and is readable.');
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || (parsed as SecretsFile).version !== 1 || typeof (parsed as SecretsFile).secrets !== 'object') {
        throw new Error('unexpected layout');
      }
      this.data = parsed as SecretsFile;
      return this.data;
    } catch (e) {
      throw new FlightdeckError(
        'SECRET_STORAGE_UNAVAILABLE',
        `${this.file} is not a Flightdeck secrets file (${(e as Error).message}).`,
        'Move the file aside and enter the passwords again; Flightdeck will not overwrite it while it cannot read it.',
      );
    }
  }

  /** Temp file in the same folder, fsync, rename: a crash leaves the old file or the new one. */
  private async persist(data: SecretsFile): Promise<void> {
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    if (this.platform !== 'win32') {
      // The rename is durable only once the directory entry is on disk.
      const dirHandle = await open(dir, 'r');
      try {
        await dirHandle.sync();
      } finally {
        await dirHandle.close();
      }
    }
  }

  private update(change: (data: SecretsFile) => boolean): Promise<void> {
    const run = this.queue.then(async () => {
      const current = await this.load();
      const next: SecretsFile = structuredClone(current);
      if (!change(next)) return;
      await this.persist(next);
      this.data = next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async get(profileId: string, kind: SecretKind): Promise<string | undefined> {
    const stored = (await this.load()).secrets[profileId]?.[kind];
    const fromEnv = this.env[envSecretName(profileId, kind)];
    if (stored === undefined) return fromEnv;
    try {
      return this.safeStorage.decryptString(Buffer.from(stored, 'base64'));
    } catch (e) {
      if (fromEnv !== undefined) return fromEnv;
      throw new FlightdeckError(
        'SECRET_STORAGE_UNAVAILABLE',
        `The stored ${kind} of profile '${profileId}' cannot be decrypted: ${(e as Error).message}.`,
        `The keyring that encrypted it is locked, missing or has a new key. Unlock it, or enter the secret again, or set ${envSecretName(profileId, kind)}.`,
      );
    }
  }

  async set(profileId: string, kind: SecretKind, value: string): Promise<void> {
    const a = this.availability();
    if (!a.ok) {
      throw new FlightdeckError('SECRET_STORAGE_UNAVAILABLE', `Flightdeck will not store the ${kind} of profile '${profileId}': ${a.reason}`, `${keyringHint}: ${envSecretName(profileId, kind)}.`, {
        backend: a.backend,
        envVar: envSecretName(profileId, kind),
      });
    }
    const encrypted = this.safeStorage.encryptString(value).toString('base64');
    await this.update((data) => {
      (data.secrets[profileId] ??= {})[kind] = encrypted;
      return true;
    });
  }

  async delete(profileId: string, kind?: SecretKind): Promise<void> {
    await this.update((data) => {
      const entry = data.secrets[profileId];
      if (!entry) return false;
      if (kind === undefined) {
        delete data.secrets[profileId];
        return true;
      }
      if (!(kind in entry)) return false;
      delete entry[kind];
      if (Object.keys(entry).length === 0) delete data.secrets[profileId];
      return true;
    });
  }

  async has(profileId: string, kind: SecretKind): Promise<boolean> {
    const stored = (await this.load()).secrets[profileId]?.[kind];
    return stored !== undefined || this.env[envSecretName(profileId, kind)] !== undefined;
  }
}

// The safeStorage-backed secret store, run in Node with a stand-in for Electron's safeStorage (the
// Electron binary is not available here). The stand-in is a real reversible cipher with a key of
// its own, so the file format, permissions, atomic replacement and the refusal to store secrets
// under Chromium's hard-coded-key backend are all exercised for real.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SafeStorageSecretStore, type SafeStorageLike } from '../../main/electron/safe-storage-secret-store';
import { FlightdeckError } from '../../shared/errors';

type Backend = ReturnType<SafeStorageLike['getSelectedStorageBackend']>;

function keyring(opts: { backend?: Backend; available?: boolean; key?: Buffer } = {}): SafeStorageLike {
  const key = opts.key ?? randomBytes(32);
  return {
    isEncryptionAvailable: () => opts.available ?? true,
    getSelectedStorageBackend: () => opts.backend ?? 'gnome_libsecret',
    encryptString(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decryptString(encrypted) {
      const decipher = createDecipheriv('aes-256-gcm', key, encrypted.subarray(0, 12));
      decipher.setAuthTag(encrypted.subarray(12, 28));
      return Buffer.concat([decipher.update(encrypted.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fd-secrets-'));
  file = path.join(dir, 'userData', 'secrets.json');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function caught(p: Promise<unknown>): Promise<FlightdeckError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected a FlightdeckError');
}

describe('SafeStorageSecretStore with a keyring', () => {
  it('keeps secrets encrypted in a 0600 file and reads them back after a restart', async () => {
    const safeStorage = keyring();
    const store = new SafeStorageSecretStore({ file, safeStorage, platform: 'linux', env: {} });
    await store.set('prod-db', 'db-password', 'correct horse battery staple');
    await store.set('prod-db', 'ssh-key-passphrase', 'p@ss');

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('correct horse');
    expect(JSON.parse(text)).toMatchObject({ version: 1, secrets: { 'prod-db': { 'db-password': expect.any(String) } } });
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    // No temp files left behind by the atomic replace.
    expect(readdirSync(path.dirname(file))).toEqual(['secrets.json']);

    const reopened = new SafeStorageSecretStore({ file, safeStorage, platform: 'linux', env: {} });
    expect(await reopened.get('prod-db', 'db-password')).toBe('correct horse battery staple');
    expect(await reopened.has('prod-db', 'ssh-key-passphrase')).toBe(true);
    expect(await reopened.has('prod-db', 'jump-password')).toBe(false);
    expect(reopened.describe()).toEqual({ persistent: true, backend: 'gnome_libsecret' });
  });

  it('deletes one kind or the whole profile', async () => {
    const store = new SafeStorageSecretStore({ file, safeStorage: keyring(), platform: 'darwin', env: {} });
    await store.set('a', 'db-password', 'one');
    await store.set('a', 'ssh-password', 'two');
    await store.set('b', 'db-password', 'three');
    await store.delete('a', 'db-password');
    expect(await store.get('a', 'db-password')).toBeUndefined();
    expect(await store.get('a', 'ssh-password')).toBe('two');
    await store.delete('a');
    expect(JSON.parse(readFileSync(file, 'utf8')).secrets).toEqual({ b: { 'db-password': expect.any(String) } });
    expect(store.describe().backend).toBe('keychain');
  });

  it('keeps every write when saves overlap', async () => {
    const store = new SafeStorageSecretStore({ file, safeStorage: keyring(), platform: 'linux', env: {} });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`p${i}`, 'db-password', `secret-${i}`)));
    const reopened = new SafeStorageSecretStore({ file, safeStorage: keyring(), platform: 'linux', env: {} });
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).secrets)).toHaveLength(20);
    expect(await reopened.has('p19', 'db-password')).toBe(true);
  });

  it('falls back to FLIGHTDECK_SECRET_* when nothing is stored', async () => {
    const store = new SafeStorageSecretStore({ file, safeStorage: keyring(), platform: 'linux', env: { FLIGHTDECK_SECRET_PROD_DB_DB_PASSWORD: 'from-env' } });
    expect(await store.get('prod-db', 'db-password')).toBe('from-env');
    expect(await store.has('prod-db', 'db-password')).toBe(true);
    await store.set('prod-db', 'db-password', 'stored');
    expect(await store.get('prod-db', 'db-password')).toBe('stored');
  });

  it('says so when a stored secret cannot be decrypted by the current keyring', async () => {
    await new SafeStorageSecretStore({ file, safeStorage: keyring(), platform: 'linux', env: {} }).set('x', 'db-password', 'old');
    const err = await caught(new SafeStorageSecretStore({ file, safeStorage: keyring(), platform: 'linux', env: {} }).get('x', 'db-password'));
    expect(err.code).toBe('SECRET_STORAGE_UNAVAILABLE');
    expect(err.hint).toContain('FLIGHTDECK_SECRET_X_DB_PASSWORD');
  });

  it('refuses to overwrite a file it cannot read', async () => {
    const broken = path.join(dir, 'secrets.json');
    writeFileSync(broken, '{not json');
    const store = new SafeStorageSecretStore({ file: broken, safeStorage: keyring(), platform: 'linux', env: {} });
    const err = await caught(store.set('x', 'db-password', 'v'));
    expect(err.code).toBe('SECRET_STORAGE_UNAVAILABLE');
    expect(readFileSync(broken, 'utf8')).toBe('{not json');
  });
});

describe('SafeStorageSecretStore without a keyring', () => {
  it("refuses to store secrets under Linux's basic_text backend and points to the environment", async () => {
    const store = new SafeStorageSecretStore({ file, safeStorage: keyring({ backend: 'basic_text' }), platform: 'linux', env: {} });
    const err = await caught(store.set('prod-db', 'db-password', 'hunter2'));
    expect(err.code).toBe('SECRET_STORAGE_UNAVAILABLE');
    expect(err.message).toMatch(/hard-coded/);
    expect(err.hint).toMatch(/keyring/i);
    expect(err.hint).toContain('FLIGHTDECK_SECRET_PROD_DB_DB_PASSWORD');
    expect(() => statSync(file)).toThrow();

    const described = store.describe();
    expect(described).toMatchObject({ persistent: false, backend: 'basic_text' });
    expect(described.reason).toMatch(/FLIGHTDECK_SECRET_/);
  });

  it('still reads secrets from the environment', async () => {
    const store = new SafeStorageSecretStore({ file, safeStorage: keyring({ backend: 'basic_text' }), platform: 'linux', env: { FLIGHTDECK_SECRET_PROD_DB_DB_PASSWORD: 'from-env' } });
    expect(await store.get('prod-db', 'db-password')).toBe('from-env');
  });

  it('refuses when the OS reports encryption unavailable', async () => {
    const store = new SafeStorageSecretStore({ file, safeStorage: keyring({ available: false }), platform: 'win32', env: {} });
    expect((await caught(store.set('a', 'db-password', 'v'))).code).toBe('SECRET_STORAGE_UNAVAILABLE');
    expect(store.describe()).toMatchObject({ persistent: false, backend: 'dpapi' });
  });
});

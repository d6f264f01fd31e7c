// Where passwords and key passphrases live. The renderer never reads them back: it only learns
// which kinds are set. Three stores:
//   - SafeStorageSecretStore (main/electron/): encrypted with Electron safeStorage, on disk.
//   - MemorySecretStore: the host and CLI keep what the user typed for this process only.
//   - environment variables, consulted by both for scripted use (see envSecretName).
import type { SecretKind } from '../../shared/profile';

export interface SecretStore {
  /** 'safe-storage' persists encrypted; 'memory' lasts for the process. */
  readonly kind: 'safe-storage' | 'memory';
  /** Whether secrets survive a restart, and if not, why. */
  describe(): { persistent: boolean; backend: string; reason?: string };
  get(profileId: string, kind: SecretKind): Promise<string | undefined>;
  /** Throws SECRET_STORAGE_UNAVAILABLE when the store refuses to keep secrets safely. */
  set(profileId: string, kind: SecretKind, value: string): Promise<void>;
  delete(profileId: string, kind?: SecretKind): Promise<void>;
  has(profileId: string, kind: SecretKind): Promise<boolean>;
}

/**
 * FLIGHTDECK_SECRET_<PROFILE>_<KIND>, upper-cased with non-alphanumerics as '_', e.g.
 * FLIGHTDECK_SECRET_PROD_DB_DB_PASSWORD for profile "prod-db" and kind "db-password".
 */
export function envSecretName(profileId: string, kind: SecretKind): string {
  const norm = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return `FLIGHTDECK_SECRET_${norm(profileId)}_${norm(kind)}`;
}

export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory' as const;
  private readonly values = new Map<string, string>();

  describe() {
    return {
      persistent: false,
      backend: 'memory',
      reason: 'This process keeps secrets in memory only; give them again after a restart, or set FLIGHTDECK_SECRET_<PROFILE>_<KIND> in the environment.',
    };
  }

  async get(profileId: string, kind: SecretKind) {
    return this.values.get(`${profileId}\0${kind}`) ?? process.env[envSecretName(profileId, kind)];
  }

  async set(profileId: string, kind: SecretKind, value: string) {
    this.values.set(`${profileId}\0${kind}`, value);
  }

  async delete(profileId: string, kind?: SecretKind) {
    for (const key of [...this.values.keys()]) {
      const [id, k] = key.split('\0');
      if (id === profileId && (kind === undefined || k === kind)) this.values.delete(key);
    }
  }

  async has(profileId: string, kind: SecretKind) {
    return (await this.get(profileId, kind)) !== undefined;
  }
}

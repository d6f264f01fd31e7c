// Connection profiles on disk: <dataDir>/profiles.json, validated on every load and written
// atomically. Secrets are not here; they live in the SecretStore.
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { FlightdeckError } from '../../shared/errors';
import { profileSchema, type Profile, type ProfileDraft } from '../../shared/profile';
import { writeFileAtomic } from '../platform/atomic-file';

const fileSchema = z.object({ version: z.literal(1), profiles: z.array(profileSchema) });

export class ProfileStore {
  private profiles: Profile[] = [];
  private loaded = false;
  /** Profiles that exist for this process only (the sandbox's, the CLI's); never written. */
  private readonly ephemeral = new Map<string, Profile>();
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'profiles.json');
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.loaded = true;
      return;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (e) {
      // Refuse to start from a damaged file rather than overwrite the user's profiles with nothing.
      throw new FlightdeckError('INVALID_INPUT', `The profiles file ${this.file} is damaged: ${(e as Error).message.split('\n')[0]}.`, 'Fix the JSON by hand or move the file away; Flightdeck will not overwrite it.');
    }
    this.profiles = parsed.profiles;
    this.loaded = true;
  }

  /** Changes run one at a time, and the in-memory list only changes once its file is written. */
  private queue: Promise<unknown> = Promise.resolve();

  private change<T>(fn: (current: Profile[]) => Promise<{ next: Profile[]; result: T }>): Promise<T> {
    const run = this.queue.then(async () => {
      await this.load();
      const { next, result } = await fn(this.profiles);
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, profiles: next }, null, 2)}\n`);
      this.profiles = next;
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async list(): Promise<Profile[]> {
    await this.load();
    return [...this.ephemeral.values(), ...this.profiles];
  }

  async get(id: string): Promise<Profile> {
    await this.load();
    const found = this.ephemeral.get(id) ?? this.profiles.find((p) => p.id === id);
    if (!found) throw new FlightdeckError('PROFILE_NOT_FOUND', `There is no connection profile with id "${id}".`, 'Reload the profile list; it may have been deleted.');
    return found;
  }

  isEphemeral(id: string): boolean {
    return this.ephemeral.has(id);
  }

  /** Creates (no id) or replaces a profile; returns it as stored. */
  save(draft: ProfileDraft): Promise<Profile> {
    if (draft.id && this.ephemeral.has(draft.id)) {
      return Promise.reject(new FlightdeckError('FORBIDDEN', `"${draft.name}" is managed by Flightdeck and cannot be edited.`, 'Duplicate it to make an editable copy.'));
    }
    return this.change(async (current) => {
      if (draft.id && !current.some((p) => p.id === draft.id)) await this.get(draft.id);
      const id = draft.id ?? newProfileId(draft.name, new Set(current.map((p) => p.id)));
      const profile = profileSchema.parse({ ...draft, id });
      const exists = current.some((p) => p.id === id);
      return { next: exists ? current.map((p) => (p.id === id ? profile : p)) : [...current, profile], result: profile };
    });
  }

  delete(id: string): Promise<void> {
    if (this.ephemeral.has(id)) {
      return Promise.reject(new FlightdeckError('FORBIDDEN', 'This profile is managed by Flightdeck and goes away with its server.', 'Stop the sandbox instead.'));
    }
    return this.change(async (current) => {
      if (!current.some((p) => p.id === id)) await this.get(id);
      return { next: current.filter((p) => p.id !== id), result: undefined };
    });
  }

  addEphemeral(profile: Profile): void {
    this.ephemeral.set(profile.id, profileSchema.parse(profile));
  }

  removeEphemeral(id: string): void {
    this.ephemeral.delete(id);
  }

  async persistedCount(): Promise<number> {
    await this.load();
    return this.profiles.length;
  }
}

function newProfileId(name: string, taken: Set<string>): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'profile';
  for (;;) {
    const id = `${slug}-${randomBytes(3).toString('hex')}`;
    if (!taken.has(id)) return id;
  }
}

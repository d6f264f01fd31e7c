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

  private async persist(): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, profiles: this.profiles }, null, 2)}\n`);
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
  async save(draft: ProfileDraft): Promise<Profile> {
    await this.load();
    if (draft.id && this.ephemeral.has(draft.id)) {
      throw new FlightdeckError('FORBIDDEN', `"${draft.name}" is managed by Flightdeck and cannot be edited.`, 'Duplicate it to make an editable copy.');
    }
    const id = draft.id ?? newProfileId(draft.name, new Set(this.profiles.map((p) => p.id)));
    const profile = profileSchema.parse({ ...draft, id });
    const i = this.profiles.findIndex((p) => p.id === id);
    if (draft.id && i < 0) await this.get(draft.id);
    if (i >= 0) this.profiles[i] = profile;
    else this.profiles.push(profile);
    await this.persist();
    return profile;
  }

  async delete(id: string): Promise<void> {
    await this.load();
    if (this.ephemeral.has(id)) {
      throw new FlightdeckError('FORBIDDEN', 'This profile is managed by Flightdeck and goes away with its server.', 'Stop the sandbox instead.');
    }
    await this.get(id);
    this.profiles = this.profiles.filter((p) => p.id !== id);
    await this.persist();
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

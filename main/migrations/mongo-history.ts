// What a MongoDB database records about its migrations, in collections beside the application's:
//   changelog                    migrate-mongo's own: one document per applied file
//                                { fileName, appliedAt, migrationBlock } (and fileHash when the team
//                                runs migrate-mongo with useFileHash), kept exactly as migrate-mongo
//                                keeps it, so a team can switch between the two tools either way;
//   flightdeck_migrations        one document per version Flightdeck applied: file, checksum, when,
//                                how long, who, and the changelog entry's appliedAt, so an entry
//                                migrate-mongo re-applied since is not taken for Flightdeck's;
//   flightdeck_migration_steps   one document per step a run started: 'running' before the function
//                                is called, then done / failed with the full record. A step still
//                                'running' or 'failed' is open: the database is dirty until `force`.
import type { Collection, Db, ObjectId } from 'mongodb';
import type { FailureRecord } from '../../shared/migrations';

export const changelogCollection = 'changelog';
export const appliedCollection = 'flightdeck_migrations';
export const stepsCollection = 'flightdeck_migration_steps';

export interface ChangelogEntry {
  _id?: ObjectId;
  fileName: string;
  appliedAt: Date;
  migrationBlock?: number;
  fileHash?: string;
}

export interface AppliedDoc {
  _id: number;
  name: string;
  checksum: string;
  appliedAt: Date;
  /** The appliedAt written to the changelog with it. */
  changelogAppliedAt: Date;
  durationMs: number;
  appliedBy: string;
  runId: string;
  migrationBlock: number;
}

export type StepStatus = 'running' | 'done' | 'failed' | 'rolled-back' | 'forced';

export interface StepDoc {
  _id?: ObjectId;
  runId: string;
  version: number;
  direction: 'up' | 'down';
  file: string;
  status: StepStatus;
  /** 0 or 1: whether the step's function ran to the end. */
  statementsApplied: number;
  startedAt: Date;
  finishedAt: Date | null;
  settledAt?: Date;
  migrationBlock: number;
  record: FailureRecord | null;
}

export interface OpenStep {
  id: ObjectId;
  runId: string;
  version: number;
  direction: 'up' | 'down';
  file: string;
  status: StepStatus;
  startedAt: string;
  record: FailureRecord | null;
}

/** The timestamp prefix of a migrate-mongo file name, or null. */
export function versionOfFileName(fileName: string): number | null {
  const m = /^(\d+)-/.exec(fileName);
  if (!m) return null;
  const v = Number(m[1]);
  return Number.isSafeInteger(v) ? v : null;
}

export class MongoMigrationHistory {
  constructor(private readonly db: Db) {}

  private get changelogColl(): Collection<ChangelogEntry> {
    return this.db.collection<ChangelogEntry>(changelogCollection);
  }
  private get appliedColl(): Collection<AppliedDoc> {
    return this.db.collection<AppliedDoc>(appliedCollection);
  }
  private get stepsColl(): Collection<StepDoc> {
    return this.db.collection<StepDoc>(stepsCollection);
  }

  async changelog(): Promise<ChangelogEntry[]> {
    return this.changelogColl.find({}).sort({ appliedAt: 1, _id: 1 }).toArray();
  }

  async applied(): Promise<AppliedDoc[]> {
    return this.appliedColl.find({}).sort({ _id: 1 }).toArray();
  }

  async startStep(s: { runId: string; version: number; direction: 'up' | 'down'; file: string; migrationBlock: number }): Promise<ObjectId> {
    const r = await this.stepsColl.insertOne({ ...s, status: 'running', statementsApplied: 0, startedAt: new Date(), finishedAt: null, record: null });
    return r.insertedId;
  }

  async finishStep(id: ObjectId, status: StepStatus, record: FailureRecord | null, statementsApplied: number): Promise<void> {
    await this.stepsColl.updateOne({ _id: id }, { $set: { status, record, statementsApplied, finishedAt: new Date() } });
  }

  /** After an up function ran: the changelog entry as migrate-mongo writes it, then Flightdeck's own. */
  async recordUp(a: { fileName: string; version: number; checksum: string; fileHash: string | null; durationMs: number; appliedBy: string; runId: string; migrationBlock: number }): Promise<void> {
    const appliedAt = new Date();
    const entry: ChangelogEntry = a.fileHash ? { fileName: a.fileName, fileHash: a.fileHash, appliedAt, migrationBlock: a.migrationBlock } : { fileName: a.fileName, appliedAt, migrationBlock: a.migrationBlock };
    await this.changelogColl.insertOne(entry);
    await this.appliedColl.replaceOne(
      { _id: a.version },
      { name: a.fileName, checksum: a.checksum, appliedAt, changelogAppliedAt: appliedAt, durationMs: Math.round(a.durationMs), appliedBy: a.appliedBy, runId: a.runId, migrationBlock: a.migrationBlock },
      { upsert: true },
    );
  }

  /** After a down function ran: no changelog entry for the file is left (migrate-mongo removes one;
   * with useFileHash a file can have several), and Flightdeck's row goes. */
  async recordDown(a: { fileName: string; version: number }): Promise<void> {
    await this.changelogColl.deleteMany({ fileName: a.fileName });
    await this.appliedColl.deleteOne({ _id: a.version });
  }

  /** The latest step that failed or never finished, unless a force has settled it. */
  async openStep(): Promise<OpenStep | null> {
    const r = await this.stepsColl.find({ status: { $in: ['running', 'failed'] } }).sort({ startedAt: -1, _id: -1 }).limit(1).next();
    if (!r) return null;
    return { id: r._id!, runId: r.runId, version: r.version, direction: r.direction, file: r.file, status: r.status, startedAt: new Date(r.startedAt).toISOString(), record: r.record ?? null };
  }

  async settleOpenSteps(resolution: 'forced'): Promise<number> {
    const r = await this.stepsColl.updateMany({ status: { $in: ['running', 'failed'] } }, { $set: { status: resolution, settledAt: new Date() } });
    return r.modifiedCount;
  }

  /** `force`: the changelog says exactly that the given files are applied, above `version` nothing. */
  async forceChangelog(add: { fileName: string; fileHash: string | null }[], removeIds: ObjectId[], version: number | null, migrationBlock: number): Promise<void> {
    const appliedAt = new Date();
    if (add.length) {
      await this.changelogColl.insertMany(add.map((a) => (a.fileHash ? { fileName: a.fileName, fileHash: a.fileHash, appliedAt, migrationBlock } : { fileName: a.fileName, appliedAt, migrationBlock })));
    }
    if (removeIds.length) await this.changelogColl.deleteMany({ _id: { $in: removeIds } });
    await this.appliedColl.deleteMany(version === null ? {} : { _id: { $gt: version } });
  }
}

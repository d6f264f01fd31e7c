// One runner per MongoDB database: a lock document in flightdeck_lock, { _id, owner, since,
// expiresAt }, inserted by the runner that takes it (the unique _id makes the insert the test-and-
// set). The holder pushes expiresAt forward every few seconds while it runs; a holder that died
// stops doing so, and once expiresAt has passed the next runner takes the lock over (a TTL index
// also removes it, within a minute or so). Times are the server's, so runners on machines with
// skewed clocks agree.
//
// migrate-mongo (10 and later) keeps its own lock in changelog_lock when its config enables it: a
// document there means a migrate-mongo run is under way, and Flightdeck waits for it too. (It does
// not write there itself: migrate-mongo's own runs do not see Flightdeck's lock.)
import os from 'node:os';
import type { Collection, Db } from 'mongodb';
import { FlightdeckError } from '../../shared/errors';

export const lockCollection = 'flightdeck_lock';
export const migrateMongoLockCollection = 'changelog_lock';

export interface MongoLockOwner {
  tool: 'flightdeck';
  host: string;
  pid: number;
  runId: string;
  user?: string;
}

interface LockDoc {
  _id: string;
  owner: MongoLockOwner;
  since: Date;
  expiresAt: Date;
}

export type MongoLockHolder =
  | { tool: 'flightdeck'; host: string; pid: number; runId: string; user?: string; since: string; expiresAt: string }
  | { tool: 'migrate-mongo'; collection: string; since: string | null; documents: number };

export function describeMongoHolder(h: MongoLockHolder): string {
  if (h.tool === 'migrate-mongo') {
    return `migrate-mongo's lock in ${h.collection}${h.since ? `, created ${h.since}` : ''}${h.documents > 1 ? ` (${h.documents} lock documents)` : ''}`;
  }
  return `Flightdeck run ${h.runId}, process ${h.pid} on ${h.host}${h.user ? ` (${h.user})` : ''}, since ${h.since}, lock expires ${h.expiresAt} unless renewed`;
}

export interface MongoLockTimings {
  /** How long the lock lives without a renewal. */
  ttlMs: number;
  /** How often the holder renews it. */
  renewEveryMs: number;
}

export const defaultMongoLockTimings: MongoLockTimings = { ttlMs: 30_000, renewEveryMs: 5_000 };

export class MongoRunnerLock {
  readonly key: string;
  private held = false;
  private lost: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastRenewed = 0;
  /** server time − local time, measured when the lock is first tried. */
  private clockOffsetMs: number | null = null;

  constructor(
    private readonly db: Db,
    private readonly owner: MongoLockOwner,
    private readonly timings: MongoLockTimings = defaultMongoLockTimings,
    private readonly onLost?: (why: string) => void,
  ) {
    this.key = `migrations:${db.databaseName}`;
  }

  static ownerFor(runId: string, user?: string): MongoLockOwner {
    return { tool: 'flightdeck', host: os.hostname(), pid: process.pid, runId, ...(user ? { user } : {}) };
  }

  private get coll(): Collection<LockDoc> {
    return this.db.collection<LockDoc>(lockCollection);
  }

  private async serverNow(): Promise<Date> {
    if (this.clockOffsetMs === null) {
      const before = Date.now();
      const hello = await this.db.command({ hello: 1 }).catch(() => null);
      const after = Date.now();
      const local = hello?.localTime instanceof Date ? hello.localTime.getTime() : null;
      this.clockOffsetMs = local === null ? 0 : local - (before + after) / 2;
    }
    return new Date(Date.now() + this.clockOffsetMs);
  }

  /** Waits up to waitMs, telling onWait who holds the lock once a second; then RUNNER_LOCKED. */
  async acquire(waitMs: number, onWait?: (holder: MongoLockHolder | null, waitedMs: number) => void): Promise<{ tookOverFrom: MongoLockHolder | null }> {
    // The TTL index only tidies up after holders that died; expiry itself is checked on every try.
    await this.coll.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'flightdeck_lock_expiry' }).catch(() => undefined);
    const started = Date.now();
    let lastReport = 0;
    for (;;) {
      let got: { tookOverFrom: MongoLockHolder | null } | null = null;
      if (!(await this.migrateMongoHolder())) {
        got = await this.tryOnce();
        // migrate-mongo may have started between the check and the insert: it goes first.
        if (got && (await this.migrateMongoHolder())) {
          await this.coll.deleteOne({ _id: this.key, 'owner.runId': this.owner.runId });
          got = null;
        }
      }
      if (got) {
        this.held = true;
        this.lastRenewed = Date.now();
        this.timer = setInterval(() => void this.renew(), this.timings.renewEveryMs);
        this.timer.unref();
        return got;
      }
      const waited = Date.now() - started;
      if (waited >= waitMs) {
        const holder = await this.holder().catch(() => null);
        throw new FlightdeckError(
          'RUNNER_LOCKED',
          `Another migration runner holds the lock on this database (${holder ? describeMongoHolder(holder) : 'the holder finished just now'}); waited ${(waited / 1000).toFixed(1)} s.`,
          holder?.tool === 'migrate-mongo'
            ? `Wait for the migrate-mongo run to finish. If none is running, its lock was left behind: remove it with db.${migrateMongoLockCollection}.deleteMany({}) and run again.`
            : `Wait for that run to finish, then run again. A runner that died holds the lock until it expires (${Math.round(this.timings.ttlMs / 1000)} s after its last renewal).`,
          { holder, waitedMs: waited },
        );
      }
      if (onWait && waited - lastReport >= 1000) {
        lastReport = waited;
        onWait(await this.holder().catch(() => null), waited);
      }
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, waitMs - waited))));
    }
  }

  private async tryOnce(): Promise<{ tookOverFrom: MongoLockHolder | null } | null> {
    const now = await this.serverNow();
    const doc = { owner: this.owner, since: now, expiresAt: new Date(now.getTime() + this.timings.ttlMs) };
    try {
      await this.coll.insertOne({ _id: this.key, ...doc });
      return { tookOverFrom: null };
    } catch (e) {
      if ((e as { code?: unknown }).code !== 11000) throw e;
    }
    // Held; taken over only when its holder stopped renewing it.
    const before = await this.coll.findOneAndUpdate({ _id: this.key, expiresAt: { $lt: now } }, { $set: doc }, { returnDocument: 'before' });
    return before ? { tookOverFrom: toHolder(before) } : null;
  }

  private async renew(): Promise<void> {
    if (!this.held || this.lost) return;
    try {
      const now = await this.serverNow();
      const r = await this.coll.updateOne({ _id: this.key, 'owner.runId': this.owner.runId }, { $set: { expiresAt: new Date(now.getTime() + this.timings.ttlMs) } });
      if (r.matchedCount === 0) this.markLost('the lock document was removed or taken over by another runner');
      else this.lastRenewed = Date.now();
    } catch (e) {
      if (Date.now() - this.lastRenewed >= this.timings.ttlMs) this.markLost(`it could not be renewed for ${Math.round(this.timings.ttlMs / 1000)} s (${(e as Error).message})`);
    }
  }

  private markLost(why: string): void {
    if (this.lost) return;
    this.lost = why;
    this.onLost?.(why);
  }

  /** Throws when the lock was lost while running (another runner may be at work now). */
  assertHeld(): void {
    if (this.lost) {
      throw new FlightdeckError('RUNNER_LOCKED', `This run lost the runner lock: ${this.lost}. It stopped before the next migration.`, 'Run `flightdeck migrate status` to see where the database is, then run again.');
    }
    if (this.held && Date.now() - this.lastRenewed >= this.timings.ttlMs) {
      this.markLost(`it was last renewed ${Math.round((Date.now() - this.lastRenewed) / 1000)} s ago`);
      this.assertHeld();
    }
  }

  async holder(): Promise<MongoLockHolder | null> {
    const mm = await this.migrateMongoHolder();
    if (mm) return mm;
    const doc = await this.coll.findOne({ _id: this.key });
    return doc ? toHolder(doc) : null;
  }

  private async migrateMongoHolder(): Promise<MongoLockHolder | null> {
    const docs = await this.db.collection<{ createdAt?: Date }>(migrateMongoLockCollection).find({}).limit(10).toArray();
    if (docs.length === 0) return null;
    const first = docs.find((d) => d.createdAt instanceof Date)?.createdAt;
    return { tool: 'migrate-mongo', collection: migrateMongoLockCollection, since: first ? first.toISOString() : null, documents: docs.length };
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.held) return;
    this.held = false;
    await this.coll.deleteOne({ _id: this.key, 'owner.runId': this.owner.runId });
  }
}

function toHolder(doc: LockDoc): MongoLockHolder {
  const o = doc.owner ?? ({} as Partial<MongoLockOwner>);
  return {
    tool: 'flightdeck',
    host: String(o.host ?? 'unknown host'),
    pid: Number(o.pid ?? 0),
    runId: String(o.runId ?? 'unknown run'),
    ...(o.user ? { user: String(o.user) } : {}),
    since: doc.since instanceof Date ? doc.since.toISOString() : String(doc.since),
    expiresAt: doc.expiresAt instanceof Date ? doc.expiresAt.toISOString() : String(doc.expiresAt),
  };
}

// The storage panel for MongoDB: per collection of the profile's database, $collStats storageStats
// (WiredTiger's file size, index sizes, documents, and freeStorageSize: space inside the file that
// a compact would give back, shown as the bloat estimate) and $indexStats (accesses since the
// server started or the index was built, on this member only) for unused indexes. Every command
// carries maxTimeMS from the reading's budget; a collection whose statistics do not come within it
// (a collection lock held by a DDL) is listed as not sized this time.
import type { StoragePanel } from '../../shared/monitor';
import type { MongoDbSession } from '../connections/adapter';
import { forMongo } from './sampler';
import { StorageReadError, type StorageOptions, type StorageReader, type StorageReaderFactory, type StorageReading } from './storage';

interface CollStats {
  storageStats?: { size?: number; count?: number; storageSize?: number; freeStorageSize?: number; totalIndexSize?: number; indexSizes?: Record<string, number> };
}
interface IndexStats {
  name: string;
  accesses?: { ops?: number | { toNumber(): number }; since?: Date };
  spec?: { unique?: boolean };
}

/** Collections sized per reading, at most: a database with thousands is listed by its largest. */
const maxCollections = 500;

class MongoStorage implements StorageReader {
  constructor(
    private readonly session: MongoDbSession,
    private readonly opts: StorageOptions,
  ) {}

  async read(budgetMs: number): Promise<StorageReading> {
    const deadline = performance.now() + budgetMs;
    const left = () => Math.floor(deadline - performance.now());
    const dbName = this.session.database;
    if (!dbName) throw new StorageReadError('The profile names no database, so its collections cannot be sized.', 'Name the database in the profile.');
    const db = this.session.client().db(dbName);
    const infos = await db.listCollections({ type: 'collection' }, { nameOnly: true, authorizedCollections: true, maxTimeMS: Math.max(1, left()) }).toArray();
    const names = infos.map((c) => c.name).filter((n) => !n.startsWith('system.')).sort().slice(0, maxCollections);
    const tables: StoragePanel['tables'] = [];
    const skipped: StoragePanel['skipped'] = [];
    const unused: StoragePanel['unusedIndexes'] = [];
    let since: number | null = null;
    let indexNote: string | undefined;
    for (const name of names) {
      const ms = left();
      if (ms < 5) {
        skipped.push({ schema: dbName, name, reason: 'the reading ran out of time before this collection' });
        continue;
      }
      const coll = db.collection(name);
      let stats: CollStats['storageStats'];
      try {
        const [doc] = await coll.aggregate<CollStats>([{ $collStats: { storageStats: {} } }], { maxTimeMS: ms }).toArray();
        stats = doc?.storageStats;
      } catch (e) {
        skipped.push({ schema: dbName, name, reason: reasonOf(e) });
        continue;
      }
      const data = Number(stats?.storageSize ?? 0);
      const indexes = Number(stats?.totalIndexSize ?? 0);
      const free = stats?.freeStorageSize;
      tables.push({
        schema: dbName,
        name,
        tableBytes: data,
        indexBytes: indexes,
        toastBytes: 0,
        totalBytes: data + indexes,
        liveRows: stats?.count ?? null,
        // WiredTiger keeps no dead row versions for a vacuum to find.
        deadRows: null,
        deadRatio: null,
        bloatBytes: free ?? null,
        bloatRatio: free !== undefined && data > 0 ? free / data : null,
        lastVacuum: null,
        lastAutovacuum: null,
        lastAnalyze: null,
        lastAutoanalyze: null,
      });
      const ims = left();
      if (ims < 5) continue;
      try {
        const indexStats = await coll.aggregate<IndexStats>([{ $indexStats: {} }], { maxTimeMS: ims }).toArray();
        for (const ix of indexStats) {
          const at = ix.accesses?.since?.getTime();
          if (at !== undefined) since = since === null ? at : Math.min(since, at);
          const ops = ix.accesses?.ops;
          const count = typeof ops === 'number' ? ops : ops ? ops.toNumber() : 0;
          if (count > 0 || ix.name === '_id_' || ix.spec?.unique) continue;
          unused.push({ schema: dbName, table: name, name: ix.name, bytes: stats?.indexSizes?.[ix.name] ?? null });
        }
      } catch (e) {
        indexNote ??= `Index use could not be read for some collections: ${reasonOf(e)}`;
      }
    }
    tables.sort((a, b) => b.totalBytes - a.totalBytes || (a.name < b.name ? -1 : 1));
    unused.sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0));
    return {
      sizeSource: '$collStats storageStats: WiredTiger file and index sizes; the bloat estimate is freeStorageSize, the space a compact would give back',
      tables: tables.slice(0, this.opts.topTables),
      skipped,
      unusedIndexes: unused.slice(0, this.opts.unusedIndexes),
      unusedIndexCount: unused.length,
      indexStatsSince: since,
      unusedIndexesNote: 'Counted by $indexStats since the server started or the index was built, on this member only: a secondary\'s reads are not counted here.',
      ...(indexNote ? { unusedIndexesHint: indexNote } : {}),
    };
  }
}

function reasonOf(e: unknown): string {
  const name = (e as { codeName?: string } | null)?.codeName;
  if (name === 'MaxTimeMSExpired') return 'its statistics did not come within the time left (a DDL may hold its lock)';
  if (name === 'Unauthorized') return 'not allowed (the clusterMonitor role grants collStats and indexStats)';
  return e instanceof Error ? e.message : String(e);
}

export const mongoStorage: StorageReaderFactory = forMongo((session, opts: StorageOptions) => new MongoStorage(session, opts));

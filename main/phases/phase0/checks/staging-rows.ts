// Phase 0, the largest tables' row counts on production and staging side by side (the statistics'
// estimates, as WORKFLOW.md reads them): a rehearsal on a staging with a tiny fraction of the rows
// says little about production's timing. On MongoDB: estimatedDocumentCount per collection (the
// collection's metadata count, no scan).
import type { Db } from 'mongodb';
import { isMongoSession, type MongoDbSession, type SqlSession } from '../../../connections/adapter';
import { isMongoBookkeeping } from '../../../schema/schema-fingerprint';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

async function largest(s: SqlSession | MongoDbSession, limit: number): Promise<Map<string, number>> {
  if (isMongoSession(s)) return largestMongo(s.mongo().db, limit);
  const rows =
    s.engine === 'postgres'
      ? await s.query<{ name: string; n: string }>(`select schemaname || '.' || relname as name, n_live_tup as n from pg_stat_user_tables order by n_live_tup desc, relname limit ${limit}`)
      : await s.query<{ name: string; n: string }>(`SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_ROWS DESC, TABLE_NAME LIMIT ${limit}`);
  return new Map(rows.map((r) => [r.name, Number(r.n ?? 0)]));
}

/** Plain collections only: a view has no documents of its own, and counting a time-series
 * collection is not a metadata read. */
async function largestMongo(db: Db, limit: number): Promise<Map<string, number>> {
  const names = (await db.listCollections({}, { nameOnly: false }).toArray()).filter((c) => (c.type ?? 'collection') === 'collection' && !isMongoBookkeeping(c.name)).map((c) => c.name);
  const counts: [string, number][] = [];
  for (const name of names) counts.push([name, await db.collection(name).estimatedDocumentCount()]);
  counts.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return new Map(counts.slice(0, limit));
}

export const stagingRows: CheckDef<Phase0Context> = {
  id: 'staging-rows',
  phase: 0,
  title: 'Staging holds production-like data (largest tables)',
  severity: 'medium',
  async run(ctx) {
    if (!ctx.staging) return { status: 'fail', summary: 'No staging database was given.', hint: 'Give the staging profile or URL.' };
    const mongo = ctx.production.profile.engine === 'mongodb';
    const prod = await largest(ctx.production.session as SqlSession | MongoDbSession, 10);
    const stag = await largest(ctx.staging.session as SqlSession | MongoDbSession, 200);
    const rows: string[][] = [];
    const thin: string[] = [];
    for (const [name, n] of prod) {
      const s = stag.get(name);
      const ratio = s === undefined || n === 0 ? null : s / n;
      if (n >= 10_000 && (s === undefined || s < n * 0.1)) thin.push(name);
      rows.push([name, String(n), s === undefined ? 'missing' : String(s), ratio === null ? '' : `${(ratio * 100).toFixed(0)}%`]);
    }
    const evidence = {
      tables: [
        mongo
          ? { title: 'Largest production collections (estimated documents)', columns: ['collection', 'production', 'staging', 'staging / production'], rows }
          : { title: 'Largest production tables (estimated rows)', columns: ['table', 'production', 'staging', 'staging / production'], rows },
      ],
    };
    if (thin.length) {
      return {
        status: 'fail',
        summary: `Staging has under 10% of production's ${mongo ? 'documents' : 'rows'} in ${thin.join(', ')}: the rehearsal's timings will not predict production's.`,
        hint: 'Refresh staging from a recent backup, or accept with a reason (the estimates then come from production statistics alone).',
        evidence,
      };
    }
    if (mongo) return { status: 'pass', summary: prod.size ? `Staging's largest collections hold 10% or more of production's document counts.` : 'Production has no collections yet.', evidence };
    return { status: 'pass', summary: prod.size ? `Staging's largest tables are within 10% or more of production's row counts.` : 'Production has no user tables yet.', evidence };
  },
};

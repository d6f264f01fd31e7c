// Phase 0, staging matches production: the normalised schema fingerprint of both, and a readable
// diff naming every object that differs. A mismatch is high: fix it before rehearsing.
// On MongoDB the schema is each collection's options and validator, its indexes and the views.
import { isMongoSession, type MongoDbSession, type SqlSession } from '../../../connections/adapter';
import { diffSchemas, formatSchemaDiff, schemaFingerprint } from '../../../schema/schema-fingerprint';
import { MigrationHistory } from '../../../migrations/history';
import { MongoMigrationHistory, versionOfFileName } from '../../../migrations/mongo-history';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

async function version(s: SqlSession | MongoDbSession): Promise<string> {
  if (isMongoSession(s)) {
    // As the migrate-mongo runner reads it: the newest file the changelog lists.
    const history = new MongoMigrationHistory(s.mongo().db);
    const versions = (await history.changelog()).map((e) => versionOfFileName(e.fileName)).filter((v): v is number => v !== null);
    const open = await history.openStep();
    return versions.length ? `${Math.max(...versions)}${open ? ' (dirty)' : ''}` : open ? 'none (dirty)' : 'none';
  }
  const db = await s.pin();
  try {
    const v = await new MigrationHistory(s.engine, db).version();
    return v.version === null ? 'none' : `${v.version}${v.dirty ? ' (dirty)' : ''}`;
  } finally {
    db.release(false);
  }
}

export const stagingSchema: CheckDef<Phase0Context> = {
  id: 'staging-schema',
  phase: 0,
  title: 'Staging schema matches production',
  severity: 'high',
  async run(ctx, progress) {
    if (!ctx.staging) return { status: 'fail', summary: 'No staging database was given, so the schemas cannot be compared.', hint: 'Give the staging profile or URL.' };
    const prod = ctx.production.session as SqlSession | MongoDbSession;
    const stag = ctx.staging.session as SqlSession | MongoDbSession;
    const mongo = isMongoSession(prod);
    progress(mongo ? 'reading the production collections and indexes' : 'reading the production catalog');
    const a = await schemaFingerprint(prod);
    progress(mongo ? 'reading the staging collections and indexes' : 'reading the staging catalog');
    const b = await schemaFingerprint(stag);
    const diff = diffSchemas(a, b);
    const facts: [string, string][] = [
      ['production', `${a.entries.length} objects, fingerprint ${a.hash.slice(0, 16)}, migration version ${await version(prod)}`],
      ['staging', `${b.entries.length} objects, fingerprint ${b.hash.slice(0, 16)}, migration version ${await version(stag)}`],
    ];
    if (mongo) facts.push(['compared', 'collections (kind and options), validators, indexes (key in order, unique, sparse, partial filter, TTL, collation) and views; migration bookkeeping (changelog, changelog_lock, flightdeck_*) and system.* left out']);
    if (diff.same) return { status: 'pass', summary: `Identical schemas (${a.entries.length} object${a.entries.length === 1 ? '' : 's'}, fingerprint ${a.hash.slice(0, 16)}).`, evidence: { facts } };
    const n = diff.added.length + diff.removed.length + diff.changed.length;
    return {
      status: 'fail',
      summary: `${n} object(s) differ: ${diff.removed.length} only in production, ${diff.added.length} only in staging, ${diff.changed.length} changed.`,
      hint: mongo
        ? 'Bring staging to production\'s schema (restore the backup there, or apply the missing migrations, indexes and validators) so the rehearsal means something.'
        : 'Bring staging to production\'s schema (restore the backup there, or apply the missing migrations) so the rehearsal means something.',
      evidence: { facts, text: formatSchemaDiff(diff, ['production', 'staging']) },
    };
  },
};

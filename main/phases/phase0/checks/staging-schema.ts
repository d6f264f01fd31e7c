// Phase 0, staging matches production: the normalised schema fingerprint of both, and a readable
// diff naming every object that differs. A mismatch is high: fix it before rehearsing.
import type { SqlSession } from '../../../connections/adapter';
import { diffSchemas, formatSchemaDiff, schemaFingerprint } from '../../../schema/schema-fingerprint';
import { MigrationHistory } from '../../../migrations/history';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

async function version(s: SqlSession): Promise<string> {
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
    const prod = ctx.production.session as SqlSession;
    const stag = ctx.staging.session as SqlSession;
    progress('reading the production catalog');
    const a = await schemaFingerprint(prod);
    progress('reading the staging catalog');
    const b = await schemaFingerprint(stag);
    const diff = diffSchemas(a, b);
    const facts: [string, string][] = [
      ['production', `${a.entries.length} objects, fingerprint ${a.hash.slice(0, 16)}, migration version ${await version(prod)}`],
      ['staging', `${b.entries.length} objects, fingerprint ${b.hash.slice(0, 16)}, migration version ${await version(stag)}`],
    ];
    if (diff.same) return { status: 'pass', summary: `Identical schemas (${a.entries.length} object${a.entries.length === 1 ? '' : 's'}, fingerprint ${a.hash.slice(0, 16)}).`, evidence: { facts } };
    const n = diff.added.length + diff.removed.length + diff.changed.length;
    return {
      status: 'fail',
      summary: `${n} object(s) differ: ${diff.removed.length} only in production, ${diff.added.length} only in staging, ${diff.changed.length} changed.`,
      hint: 'Bring staging to production\'s schema (restore the backup there, or apply the missing migrations) so the rehearsal means something.',
      evidence: { facts, text: formatSchemaDiff(diff, ['production', 'staging']) },
    };
  },
};

// Phase 0, every migration has its rollback: an up without a down cannot be undone in one click.
// A migrate-mongo file holds both as functions, so each file is loaded as the runner loads it and
// must export a down function.
import { FlightdeckError } from '../../../../shared/errors';
import type { MigrationSet } from '../../../migrations/migration-set';
import { loadMongoMigration } from '../../../migrations/mongo-migration-file';
import type { CheckDef, CheckOutcome } from '../../check';
import type { Phase0Context } from '../context';

async function mongoRollbacks(set: MigrationSet, progress: (m: string) => void): Promise<CheckOutcome> {
  const rows: string[][] = [];
  const missing: string[] = [];
  const unreadable: string[] = [];
  for (const m of set.migrations) {
    if (!m.up) continue;
    progress(m.up.file);
    try {
      const l = await loadMongoMigration(m.up);
      if (!l.down) missing.push(m.up.file);
      rows.push([String(m.version), m.up.file, l.up ? 'yes' : 'MISSING', l.down ? 'yes' : 'MISSING']);
    } catch (e) {
      if (!(e instanceof FlightdeckError)) throw e;
      unreadable.push(m.up.file);
      rows.push([String(m.version), m.up.file, 'cannot load', e.message]);
    }
  }
  const evidence = { tables: [{ title: 'Migrations (migrate-mongo: up and down in one file)', columns: ['version', 'file', 'up', 'down'], rows }] };
  if (missing.length || unreadable.length) {
    const parts = [
      ...(missing.length ? [`${missing.length} migration(s) have no down function: ${missing.join(', ')}`] : []),
      ...(unreadable.length ? [`${unreadable.length} file(s) cannot be loaded, so their down function is unknown: ${unreadable.join(', ')}`] : []),
    ];
    return {
      status: 'fail',
      summary: `${parts.join('; ')}.`,
      hint: missing.length
        ? 'Write the down functions (module.exports = { async up(db, client) {…}, async down(db, client) {…} }): without them the rollback plan is a restore from backup.'
        : 'Fix the files (the syntax check shows where), then run the check again.',
      evidence,
    };
  }
  return { status: 'pass', summary: `All ${rows.length} migrations have a down function.`, evidence };
}

export const rollbackScripts: CheckDef<Phase0Context> = {
  id: 'rollback-scripts',
  phase: 0,
  title: 'Every migration has a rollback script',
  severity: 'critical',
  async run(ctx, progress) {
    if (!ctx.set) return { status: 'fail', summary: `The migration set could not be read: ${ctx.setError?.message ?? 'no folder given'}.`, hint: ctx.setError?.hint ?? 'Give the migrations folder.' };
    if (ctx.set.format === 'migrate-mongo') return mongoRollbacks(ctx.set, progress);
    const missing = ctx.set.migrations.filter((m) => m.up && !m.down);
    const rows = ctx.set.migrations.map((m) => [String(m.version), m.up?.file ?? '(none)', m.down?.file ?? 'MISSING']);
    const evidence = { tables: [{ title: 'Migrations', columns: ['version', 'up', 'down'], rows }] };
    if (missing.length) {
      return { status: 'fail', summary: `${missing.length} migration(s) have no down script: ${missing.map((m) => m.up!.file).join(', ')}.`, hint: 'Write the down scripts: without them the rollback plan is a restore from backup.', evidence };
    }
    return { status: 'pass', summary: `All ${ctx.set.migrations.length} migrations have a down script.`, evidence };
  },
};

// Phase 0, every migration has its rollback: an up without a down cannot be undone in one click.
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

export const rollbackScripts: CheckDef<Phase0Context> = {
  id: 'rollback-scripts',
  phase: 0,
  title: 'Every migration has a rollback script',
  severity: 'critical',
  async run(ctx) {
    if (!ctx.set) return { status: 'fail', summary: `The migration set could not be read: ${ctx.setError?.message ?? 'no folder given'}.`, hint: ctx.setError?.hint ?? 'Give the migrations folder.' };
    if (ctx.set.format === 'migrate-mongo') {
      return { status: 'skipped', summary: 'migrate-mongo files keep up and down in one file; whether down is written is checked when the set is planned.' };
    }
    const missing = ctx.set.migrations.filter((m) => m.up && !m.down);
    const rows = ctx.set.migrations.map((m) => [String(m.version), m.up?.file ?? '(none)', m.down?.file ?? 'MISSING']);
    const evidence = { tables: [{ title: 'Migrations', columns: ['version', 'up', 'down'], rows }] };
    if (missing.length) {
      return { status: 'fail', summary: `${missing.length} migration(s) have no down script: ${missing.map((m) => m.up!.file).join(', ')}.`, hint: 'Write the down scripts: without them the rollback plan is a restore from backup.', evidence };
    }
    return { status: 'pass', summary: `All ${ctx.set.migrations.length} migrations have a down script.`, evidence };
  },
};

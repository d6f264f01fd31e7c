// Phase 0, the largest tables' row counts on production and staging side by side (the statistics'
// estimates, as WORKFLOW.md reads them): a rehearsal on a staging with a tiny fraction of the rows
// says little about production's timing.
import type { SqlSession } from '../../../connections/adapter';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

async function largest(s: SqlSession, limit: number): Promise<Map<string, number>> {
  const rows =
    s.engine === 'postgres'
      ? await s.query<{ name: string; n: string }>(`select schemaname || '.' || relname as name, n_live_tup as n from pg_stat_user_tables order by n_live_tup desc, relname limit ${limit}`)
      : await s.query<{ name: string; n: string }>(`SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_ROWS DESC, TABLE_NAME LIMIT ${limit}`);
  return new Map(rows.map((r) => [r.name, Number(r.n ?? 0)]));
}

export const stagingRows: CheckDef<Phase0Context> = {
  id: 'staging-rows',
  phase: 0,
  title: 'Staging holds production-like data (largest tables)',
  severity: 'medium',
  async run(ctx) {
    if (!ctx.staging) return { status: 'fail', summary: 'No staging database was given.', hint: 'Give the staging profile or URL.' };
    const prod = await largest(ctx.production.session as SqlSession, 10);
    const stag = await largest(ctx.staging.session as SqlSession, 200);
    const rows: string[][] = [];
    const thin: string[] = [];
    for (const [name, n] of prod) {
      const s = stag.get(name);
      const ratio = s === undefined || n === 0 ? null : s / n;
      if (n >= 10_000 && (s === undefined || s < n * 0.1)) thin.push(name);
      rows.push([name, String(n), s === undefined ? 'missing' : String(s), ratio === null ? '' : `${(ratio * 100).toFixed(0)}%`]);
    }
    const evidence = { tables: [{ title: 'Largest production tables (estimated rows)', columns: ['table', 'production', 'staging', 'staging / production'], rows }] };
    if (thin.length) {
      return { status: 'fail', summary: `Staging has under 10% of production's rows in ${thin.join(', ')}: the rehearsal's timings will not predict production's.`, hint: 'Refresh staging from a recent backup, or accept with a reason (the estimates then come from production statistics alone).', evidence };
    }
    return { status: 'pass', summary: prod.size ? `Staging's largest tables are within 10% or more of production's row counts.` : 'Production has no user tables yet.', evidence };
  },
};

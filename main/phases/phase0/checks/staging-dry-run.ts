// Phase 0, the pending migrations really run on staging: every up in order, then every down in
// reverse, inside one transaction that is rolled back, so staging is left exactly as it was. This
// catches what parsing cannot (a missing column, a type mismatch, a down that does not undo its up).
// Statements that cannot run in a transaction (CONCURRENTLY) are listed as not run. MySQL (implicit
// commits) and MongoDB (no transaction around its operations) are skipped, with the reason.
import type { SqlSession } from '../../../connections/adapter';
import { MigrationHistory } from '../../../migrations/history';
import { loadPostgresParser } from '../../../migrations/split-postgres';
import { describeSqlError } from '../../../migrations/step-executor';
import { postgresUnits, type UnitStatement } from '../../../migrations/units';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

export const stagingDryRun: CheckDef<Phase0Context> = {
  id: 'staging-dry-run',
  phase: 0,
  title: 'Pending migrations run on staging (rolled back)',
  severity: 'high',
  async run(ctx, progress) {
    if (!ctx.set) return { status: 'fail', summary: `The migration set could not be read: ${ctx.setError?.message ?? 'no folder given'}.`, hint: ctx.setError?.hint ?? 'Give the migrations folder.' };
    if (!ctx.staging) return { status: 'fail', summary: 'No staging database was given.', hint: 'Give the staging profile or URL.' };
    if (ctx.production.profile.engine === 'mongodb' || ctx.staging.session.engine === 'mongodb') {
      return {
        status: 'skipped',
        summary: 'MongoDB applies each operation as it runs: a migration\'s createIndex, collMod or writes cannot be wrapped in a transaction and rolled back, so the pending migrations are not tried here (the syntax and rollback checks load every file and look for its up and down functions); the staging rehearsal (Phase 2) runs them for real.',
      };
    }
    const session = ctx.staging.session as SqlSession;
    if (session.engine === 'mysql') {
      return { status: 'skipped', summary: 'MySQL commits DDL implicitly, so migrations cannot run inside a rolled-back transaction; the server\'s parser checked every statement, and the staging rehearsal (Phase 2) runs them for real.' };
    }
    await loadPostgresParser();
    const db = await session.pin();
    const notRun: string[][] = [];
    const ran: string[][] = [];
    try {
      const current = (await new MigrationHistory('postgres', db).version()).version;
      const pending = ctx.set.migrations.filter((m) => current === null || m.version > current);
      if (pending.length === 0) return { status: 'pass', summary: `Staging is at version ${current ?? 'none'}: no pending migration to try.` };
      const serverVersionNum = Number((await db.query<{ v: string }>("select current_setting('server_version_num') as v"))[0]!.v);
      const steps = [
        ...pending.map((m) => ({ m, file: m.up!, dir: 'up' })),
        ...[...pending].reverse().filter((m) => m.down).map((m) => ({ m, file: m.down!, dir: 'down' })),
      ];
      await db.query('BEGIN');
      // Short lock waits: the dry run must never queue staging's own sessions behind it.
      await db.query("SET LOCAL lock_timeout = '2s'");
      await db.query("SET LOCAL statement_timeout = '5min'");
      for (const step of steps) {
        progress(`${step.dir} ${step.file.file}`);
        const units = postgresUnits(step.file, serverVersionNum);
        let count = 0;
        for (const unit of units) {
          for (const s of unit.statements) {
            if (!unit.transactional) {
              notRun.push([step.file.file, String(s.line), s.summary, unit.reason ?? '']);
              continue;
            }
            const failed = await runOne(db, s);
            if (failed) {
              await db.query('ROLLBACK').catch(() => undefined);
              if (failed.sqlstate === '55P04') {
                return { status: 'pass', summary: `The dry run stopped at ${step.file.file}:${failed.line}: it uses an enum value added earlier in the run, which PostgreSQL allows only after a commit. Everything before it ran; the rest was parsed, not run.`, evidence: { tables: tables(ran, notRun) } };
              }
              return {
                status: 'fail',
                summary: `${step.dir} ${step.file.file}:${failed.line} fails on staging: ${failed.message}`,
                hint: `Fix ${step.file.file}${step.dir === 'down' ? ' (the rollback script)' : ''}; the dry run was rolled back, staging is unchanged.`,
                evidence: { tables: tables(ran, notRun), facts: [['error', `${failed.sqlstate ?? ''} ${failed.message}`.trim()]] },
              };
            }
            count++;
          }
        }
        ran.push([step.dir, step.file.file, String(count)]);
      }
      await db.query('ROLLBACK');
      return { status: 'pass', summary: `${pending.length} pending migration(s) ran up and back down on staging in a rolled-back transaction${notRun.length ? `; ${notRun.length} statement(s) that cannot run in a transaction were not run` : ''}.`, evidence: { tables: tables(ran, notRun) } };
    } finally {
      await db.query('ROLLBACK').catch(() => undefined);
      db.release(true);
    }
  },
};

async function runOne(db: import('../../../connections/adapter').PinnedSql, s: UnitStatement): Promise<{ line: number; message: string; sqlstate?: string } | null> {
  try {
    await db.query(s.text);
    return null;
  } catch (e) {
    const f = describeSqlError(e, s);
    return { line: f.line ?? s.line, message: f.message, ...(f.sqlstate ? { sqlstate: f.sqlstate } : {}) };
  }
}

function tables(ran: string[][], notRun: string[][]) {
  const out = [{ title: 'Ran (then rolled back)', columns: ['direction', 'file', 'statements'], rows: ran }];
  if (notRun.length) out.push({ title: 'Not run in a transaction', columns: ['file', 'line', 'statement', 'why'], rows: notRun });
  return out;
}

// Phase 1's strategy choice (WORKFLOW.md, "Zero-Downtime Strategy Selection"), from the analysis,
// the window's $MIGRATION_RISK and $DOWNTIME_ALLOWED: expand-contract for changes that break running
// code, a shadow table or blue-green for rewrites too long to hold a lock through, online DDL when
// every lock is short, a maintenance window when downtime is allowed and the work is heavy. For
// expand-contract it writes out the phases the specific change needs.
import type { DowntimeMode, MigrationRisk, PlanReport, StatementAnalysis, StrategyRecommendation } from '../../shared/plan';
import { pgLockNames } from '../../shared/plan';

type Phases = StrategyRecommendation['phases'];

const MILLION = 1_000_000;

interface Change {
  statement: StatementAnalysis;
  version: number;
}

/** The expand-contract steps for one breaking statement, from what its parse tree says it changes. */
function phasesFor(c: Change, phases: Record<Phases[number]['name'], string[]>, engine: PlanReport['engine']): void {
  const s = c.statement;
  let handled = false;
  for (const ch of s.changes) {
    const table = ch.table;
    const col = ch.column ?? '<column>';
    switch (ch.kind) {
      case 'rename-column': {
        const to = ch.to ?? '<new name>';
        if (engine === 'mysql') {
          phases.expand.push(`ALTER TABLE ${table} ADD COLUMN ${to} <type of ${col}>, ALGORITHM=INSTANT;  -- instead of the rename (migration ${c.version})`);
          phases['dual-write'].push(`Triggers keep both in step while old and new code run (MySQL needs one per event):\nCREATE TRIGGER ${table}_sync_${to}_ins BEFORE INSERT ON ${table} FOR EACH ROW SET NEW.${to} = COALESCE(NEW.${to}, NEW.${col}), NEW.${col} = COALESCE(NEW.${col}, NEW.${to});\nCREATE TRIGGER ${table}_sync_${to}_upd BEFORE UPDATE ON ${table} FOR EACH ROW SET NEW.${to} = IF(NOT (NEW.${col} <=> OLD.${col}), NEW.${col}, NEW.${to}), NEW.${col} = IF(NOT (NEW.${to} <=> OLD.${to}), NEW.${to}, NEW.${col});`);
          phases.backfill.push(`UPDATE ${table} SET ${to} = ${col} WHERE ${to} IS NULL AND <primary key> BETWEEN ? AND ?;  -- in batches by the primary key, one commit each`);
          phases.switch.push(`Deploy code that reads and writes ${table}.${to} only.`);
          phases.contract.push(`DROP TRIGGER ${table}_sync_${to}_ins; DROP TRIGGER ${table}_sync_${to}_upd; ALTER TABLE ${table} DROP COLUMN ${col}, ALGORITHM=INSTANT;  -- a later release`);
          handled = true;
          break;
        }
        phases.expand.push(`ALTER TABLE ${table} ADD COLUMN ${to} <type of ${col}>;  -- instead of the rename (migration ${c.version})`);
        phases['dual-write'].push(
          `A trigger keeps both in step while old and new code run (whichever column a writer changed wins):\n` +
            `CREATE FUNCTION ${table}_sync_${to}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN\n` +
            `  IF TG_OP = 'INSERT' THEN NEW.${to} := COALESCE(NEW.${to}, NEW.${col}); NEW.${col} := COALESCE(NEW.${col}, NEW.${to});\n` +
            `  ELSIF NEW.${col} IS DISTINCT FROM OLD.${col} THEN NEW.${to} := NEW.${col};\n` +
            `  ELSIF NEW.${to} IS DISTINCT FROM OLD.${to} THEN NEW.${col} := NEW.${to};\n` +
            `  END IF; RETURN NEW; END $$;\n` +
            `CREATE TRIGGER ${table}_sync_${to} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_sync_${to}();`,
        );
        phases.backfill.push(`UPDATE ${table} SET ${to} = ${col} WHERE ${to} IS NULL AND <primary key> BETWEEN $1 AND $2;  -- in batches by the primary key, one commit each`);
        phases.switch.push(`Deploy code that reads and writes ${table}.${to} only.`);
        phases.contract.push(`DROP TRIGGER ${table}_sync_${to} ON ${table}; ALTER TABLE ${table} DROP COLUMN ${col};  -- a later release`);
        handled = true;
        break;
      }
      case 'rename-table':
        if (engine === 'mongodb') {
          phases.expand.push(`db.createCollection('${ch.to}') with the same validator and indexes as ${table}  (migration ${c.version})`);
          phases['dual-write'].push(`Deploy code that writes to both ${table} and ${ch.to}.`);
          phases.backfill.push(`Copy the existing documents from ${table} to ${ch.to} in batches by _id (upserts, so the dual writes are not overwritten).`);
          phases.switch.push(`Deploy code that reads ${ch.to}, then stop writing ${table}.`);
          phases.contract.push(`db.collection('${table}').drop()  -- a later release, after a backup`);
          handled = true;
          break;
        }
        phases.expand.push(`Rename the table and leave a view with the old name, so old code keeps working (a simple view is updatable): ALTER TABLE ${table} RENAME TO ${ch.to}; CREATE VIEW ${table} AS SELECT * FROM ${ch.to};`);
        phases.switch.push(`Deploy code that uses ${ch.to}.`);
        phases.contract.push(`DROP VIEW ${table};  -- a later release`);
        handled = true;
        break;
      case 'alter-column-type': {
        const type = ch.type && !/^(ENUM|SET)$/i.test(ch.type) ? ch.type : `<the new type from migration ${c.version}>`;
        if (engine === 'mysql') {
          phases.expand.push(`Copy the table online instead of ALTER TABLE … MODIFY (which copies it while writes wait): gh-ost --alter "MODIFY COLUMN ${col} ${type}" (or pt-online-schema-change); it builds a shadow table, follows the binlog, and swaps at the end.`);
          phases.switch.push(`Let gh-ost cut over (or postpone the cut-over to a quiet moment with --postpone-cut-over-flag-file).`);
          handled = true;
          break;
        }
        phases.expand.push(`ALTER TABLE ${table} ADD COLUMN ${col}_new ${type};  -- no rewrite, instead of the type change (migration ${c.version})`);
        phases['dual-write'].push(`A trigger fills ${table}.${col}_new from ${col} on every insert and update (BEFORE INSERT OR UPDATE … NEW.${col}_new := <the conversion>). If ${col} is a key (primary, or referenced by foreign keys), the swap also moves the primary key, the default and the referencing keys: plan those steps with the trace's list of dependents.`);
        phases.backfill.push(`UPDATE ${table} SET ${col}_new = <the migration's conversion of ${col}, its USING expression if it has one> WHERE ${col}_new IS NULL AND <primary key> BETWEEN $1 AND $2;  -- in batches by the primary key`);
        phases.switch.push(`Deploy code that reads ${col}_new; then swap names in one short transaction: ALTER TABLE ${table} RENAME COLUMN ${col} TO ${col}_old; ALTER TABLE ${table} RENAME COLUMN ${col}_new TO ${col};`);
        phases.contract.push(`DROP TRIGGER …; ALTER TABLE ${table} DROP COLUMN ${col}_old;  -- a later release`);
        handled = true;
        break;
      }
      case 'drop-column':
        phases.switch.push(`Deploy code that no longer reads or writes ${table}.${col} (ORMs: mark it ignored first).`);
        phases.contract.push(`ALTER TABLE ${table} DROP COLUMN ${col};  -- after that release (migration ${c.version})`);
        handled = true;
        break;
      case 'drop-table':
        phases.switch.push(`Deploy code that no longer uses ${table}.`);
        phases.contract.push(`DROP TABLE ${table};  -- after that release; consider renaming it to ${table}_retired first and dropping it a release later`);
        handled = true;
        break;
      case 'set-not-null':
        phases.expand.push(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_${col}_not_null CHECK (${col} IS NOT NULL) NOT VALID;`);
        phases.backfill.push(`Fill the NULLs of ${table}.${col} in batches.`);
        phases.switch.push(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${table}_${col}_not_null;  -- SHARE UPDATE EXCLUSIVE: reads and writes continue`);
        phases.contract.push(`ALTER TABLE ${table} ALTER COLUMN ${col} SET NOT NULL;  -- no scan on PostgreSQL 12+; then DROP CONSTRAINT ${table}_${col}_not_null`);
        handled = true;
        break;
      default:
        break;
    }
  }
  if (!handled) phases.switch.push(`Deploy code that works with both the old and the new schema before migration ${c.version} runs: ${s.command}${s.locks[0] ? ` on ${s.locks[0].table}` : ''} (${s.summary}).`);
}

export function recommendStrategy(report: PlanReport, risk: MigrationRisk, downtime: DowntimeMode): StrategyRecommendation {
  const statements: Change[] = report.migrations.flatMap((m) => (m.up?.statements ?? []).map((statement) => ({ statement, version: m.version })));
  const incompatible = statements.filter((c) => c.statement.class === 'backward-incompatible');
  const estimates = report.migrations.flatMap((m) => m.estimates);
  const heavy = estimates.filter((e) => e.rows !== null && (e.operation.startsWith('rewrites') || e.operation.startsWith('changes every')));
  const biggestRewrite = heavy.reduce((n, e) => Math.max(n, e.rows ?? 0), 0);
  // A rewrite the application waits through: ACCESS EXCLUSIVE on PostgreSQL, a COPY (writes wait) on MySQL.
  const rewritesUnderExclusive = statements.filter((c) => c.statement.rewrites.length > 0 && (c.statement.blocks === 'reads-and-writes' || c.statement.blocks === 'writes'));
  const longBlocking = statements.filter((c) => c.statement.blocks === 'reads-and-writes' || c.statement.blocks === 'writes').filter((c) => c.statement.rewrites.length || c.statement.scans.length);
  const reasons: string[] = [];
  const phases: Record<Phases[number]['name'], string[]> = { expand: [], 'dual-write': [], backfill: [], switch: [], contract: [] };
  const done = (strategy: StrategyRecommendation['strategy']): StrategyRecommendation => ({
    strategy,
    reasons,
    phases: strategy === 'expand-contract' ? (Object.entries(phases) as [Phases[number]['name'], string[]][]).filter(([, steps]) => steps.length).map(([name, steps]) => ({ name, steps })) : [],
    risk,
    downtime,
  });
  const sizeKnown = report.estimated;
  if (!sizeKnown) reasons.push('No production statistics were given, so table sizes are unknown; the choice rests on the statements alone.');

  if (downtime === 'maintenance-window' && (rewritesUnderExclusive.length > 0 || incompatible.length > 0)) {
    reasons.push(`Downtime is allowed, and the set ${incompatible.length ? `breaks running code (${incompatible.length} backward-incompatible statement${incompatible.length > 1 ? 's' : ''})` : ''}${incompatible.length && rewritesUnderExclusive.length ? ' and ' : ''}${rewritesUnderExclusive.length ? `rewrites ${[...new Set(rewritesUnderExclusive.flatMap((c) => c.statement.rewrites))].join(', ')} while the application waits` : ''}: doing it with the application stopped is simplest and safest.`);
    if (biggestRewrite >= 100 * MILLION) reasons.push(`The largest rewrite touches ${biggestRewrite.toLocaleString('en')} rows: WORKFLOW.md's guideline is over an hour, so book a dedicated window.`);
    return done('maintenance-window');
  }
  if (biggestRewrite >= 100 * MILLION || (risk === 'critical' && biggestRewrite >= 10 * MILLION)) {
    reasons.push(`A rewrite of ${biggestRewrite.toLocaleString('en')} rows cannot hold ACCESS EXCLUSIVE without an outage${risk === 'critical' ? ', and the risk is critical' : ''}: build the new schema on a second database, replicate, and switch connection strings, keeping the old one for rollback.`);
    return done('blue-green');
  }
  if (incompatible.length) {
    reasons.push(`${incompatible.length} statement${incompatible.length > 1 ? 's break' : ' breaks'} code that is running during the deploy: ${[...new Set(incompatible.map((c) => `${c.statement.command} (migration ${c.version}, line ${c.statement.line})`))].slice(0, 5).join('; ')}.`);
    reasons.push('Expand-contract keeps old and new code working at every step, and each step can be rolled back on its own.');
    for (const c of incompatible) phasesFor(c, phases, report.engine);
    return done('expand-contract');
  }
  if (biggestRewrite >= 1 * MILLION || (rewritesUnderExclusive.length > 0 && !sizeKnown)) {
    const tables = [...new Set(rewritesUnderExclusive.flatMap((c) => c.statement.rewrites))];
    reasons.push(`${tables.join(', ')} ${tables.length > 1 ? 'are' : 'is'} rewritten while the application waits${biggestRewrite ? ` (up to ${biggestRewrite.toLocaleString('en')} rows)` : ''}: reads and writes would stop for the whole copy. A shadow table is built and filled beside the live one (triggers keep it in step), then swapped in a short transaction (gh-ost, pg-osc and pgroll work this way).`);
    return done('shadow-table');
  }
  const strong = statements.filter((c) => c.statement.locks.some((l) => l.lock === 'AccessExclusiveLock'));
  reasons.push(
    `Every statement is backward compatible${longBlocking.length ? '' : ' and none holds a blocking lock for long'}: ${strong.length ? `${strong.length} take${strong.length === 1 ? 's' : ''} ${pgLockNames.AccessExclusiveLock} briefly (catalog changes only), run with a short lock_timeout and retries` : 'no statement takes ACCESS EXCLUSIVE'}; indexes are built CONCURRENTLY and constraints added NOT VALID then validated.`,
  );
  if (longBlocking.length) reasons.push(`Watch: ${longBlocking.map((c) => `${c.statement.command} on ${c.statement.locks[0]?.table} (migration ${c.version}) blocks ${c.statement.blocks} while it ${c.statement.rewrites.length ? 'rewrites' : 'scans'}`).join('; ')} — the lint findings give the online form.`);
  if (risk === 'high' || risk === 'critical') reasons.push(`The risk is ${risk}: rehearse on staging with production-sized data first (Phase 2).`);
  return done('online-ddl');
}

// Runs Phase 0: every check of WORKFLOW.md's prerequisites list, one after another (quick ones
// first, the backup last), reporting each as it starts and ends, then the gate's verdict.
import { decideGate, type CheckResult, type Phase0Report } from '../../../shared/checks';
import { FlightdeckError } from '../../../shared/errors';
import { evidence, type CheckDef } from '../check';
import { dashboardsReady, dbaAvailable } from './checks/attestations';
import { backupAge } from './checks/backup-age';
import { backupDump } from './checks/backup-dump';
import { productionAccess, stagingAccess } from './checks/database-access';
import { lockAnalysis } from './checks/lock-analysis';
import { migrationSyntax } from './checks/migration-syntax';
import { migrationTools } from './checks/migration-tools';
import { performanceBaseline } from './checks/performance-baseline';
import { pgbouncerPools } from './checks/pgbouncer-pools';
import { poolHeadroom } from './checks/pool-headroom';
import { rollbackScripts } from './checks/rollback-scripts';
import { stagingDryRun } from './checks/staging-dry-run';
import { stagingRows } from './checks/staging-rows';
import { stagingSchema } from './checks/staging-schema';
import type { Phase0Context } from './context';

export const phase0Checks: CheckDef<Phase0Context>[] = [
  productionAccess,
  stagingAccess,
  rollbackScripts,
  migrationSyntax,
  migrationTools,
  poolHeadroom,
  pgbouncerPools,
  lockAnalysis,
  stagingSchema,
  stagingRows,
  stagingDryRun,
  performanceBaseline,
  backupAge,
  backupDump,
  dbaAvailable,
  dashboardsReady,
];

export type { Phase0Report };

export interface Phase0RunOptions {
  /** Run only these checks; the others keep their previous results. */
  only?: string[];
  previous?: CheckResult[];
  onUpdate?: (check: CheckResult, index: number, total: number) => void;
  onProgress?: (checkId: string, message: string) => void;
}

function queued(def: CheckDef<Phase0Context>): CheckResult {
  return { id: def.id, phase: def.phase, title: def.title, severity: def.severity, status: 'queued', summary: 'Waiting to run.', evidence: evidence() };
}

export async function runCheck(def: CheckDef<Phase0Context>, ctx: Phase0Context, onProgress?: (message: string) => void): Promise<CheckResult> {
  const startedAt = new Date().toISOString();
  const t = performance.now();
  const base = { id: def.id, phase: def.phase, title: def.title, severity: def.severity, startedAt };
  try {
    const o = await def.run(ctx, onProgress ?? (() => undefined));
    const result: CheckResult = { ...base, status: o.status, summary: o.summary, ...(o.hint ? { hint: o.hint } : {}), evidence: evidence(o.evidence), durationMs: Math.round(performance.now() - t), ...(o.attested ? { attested: o.attested } : {}) };
    const accepted = ctx.settings.accepted[def.id];
    if (accepted && def.severity === 'medium' && o.status === 'fail') result.accepted = accepted;
    return result;
  } catch (e) {
    if (e instanceof FlightdeckError && e.code === 'CANCELLED') throw e;
    const err = e instanceof FlightdeckError ? e : new FlightdeckError('INTERNAL', (e as Error).message, 'This is a bug in Flightdeck; the check verified nothing.');
    return { ...base, status: 'error', summary: `The check could not run: ${err.message}`, hint: err.hint, evidence: evidence(), durationMs: Math.round(performance.now() - t) };
  }
}

export async function runPhase0(ctx: Phase0Context, opts: Phase0RunOptions = {}): Promise<Phase0Report> {
  const startedAt = new Date().toISOString();
  const previous = new Map((opts.previous ?? []).map((c) => [c.id, c]));
  const selected = phase0Checks.filter((d) => !opts.only || opts.only.includes(d.id));
  if (opts.only) {
    const unknown = opts.only.filter((id) => !phase0Checks.some((d) => d.id === id));
    if (unknown.length) throw new FlightdeckError('INVALID_INPUT', `Unknown Phase 0 check(s): ${unknown.join(', ')}.`, `The checks are: ${phase0Checks.map((d) => d.id).join(', ')}.`);
  }
  // A partial run reports the checks it ran plus any earlier results it was given, and the gate
  // decides on those: a check never run is not in the report.
  const inReport = phase0Checks.filter((d) => selected.includes(d) || previous.has(d.id));
  const results = inReport.map((d) => (selected.includes(d) ? queued(d) : previous.get(d.id)!));
  const total = selected.length;
  let index = 0;
  for (const def of selected) {
    if (ctx.signal?.aborted) throw new FlightdeckError('CANCELLED', 'Phase 0 was cancelled.', 'Run it again when ready.');
    const i = inReport.indexOf(def);
    results[i] = { ...results[i]!, status: 'running', summary: 'Running…' };
    opts.onUpdate?.(results[i]!, index, total);
    results[i] = await runCheck(def, ctx, (m) => opts.onProgress?.(def.id, m));
    opts.onUpdate?.(results[i]!, ++index, total);
  }
  return {
    phase: 0,
    startedAt,
    finishedAt: new Date().toISOString(),
    production: `${ctx.production.profile.engine}://${ctx.production.profile.user}@${ctx.production.route.address}/${ctx.production.profile.database}`,
    staging: ctx.staging ? `${ctx.staging.profile.engine}://${ctx.staging.profile.user}@${ctx.staging.route.address}/${ctx.staging.profile.database}` : null,
    migrations: ctx.set?.dir ?? null,
    checks: results,
    gate: decideGate(results),
  };
}

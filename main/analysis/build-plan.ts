// Phase 1 end to end, as the CLI and the cockpit run it: analyse and lint the set, then, when the
// databases are given, estimate from production's statistics and trace on a scratch copy of
// staging, and finally recommend a strategy.
import type { DowntimeMode, MigrationRisk, PlanReport } from '../../shared/plan';
import type { SqlSession } from '../connections/adapter';
import type { OpenConnection } from '../connections/connect';
import type { HostKeyPolicy } from '../connections/ssh/host-keys';
import type { MigrationSet } from '../migrations/migration-set';
import { estimateMigrations, readTableStats, tablesTouched } from './estimates';
import { planSet, type PlanOptions } from './plan-set';
import { tracePlan } from './postgres-lock-trace';
import { recommendStrategy } from './strategy';

export interface BuildPlanOptions extends PlanOptions {
  production?: OpenConnection;
  staging?: OpenConnection;
  stagingPassword?: string;
  trace?: boolean;
  hostKeys?: HostKeyPolicy;
  risk?: MigrationRisk;
  downtime?: DowntimeMode;
  signal?: AbortSignal;
  onProgress?: (label: string, done: number, total: number) => void;
}

export async function buildPlan(set: MigrationSet, opts: BuildPlanOptions): Promise<PlanReport> {
  let report = await planSet(set, opts);
  if (opts.production && opts.production.profile.engine === 'postgres') {
    const stats = await readTableStats(opts.production.session as SqlSession, tablesTouched(report));
    report = estimateMigrations(report, stats);
  } else if (opts.production) {
    report = { ...report, notes: [...report.notes, `Estimates from ${opts.production.profile.engine} statistics are not built yet: the plan has no table sizes.`] };
  }
  if (opts.trace && opts.staging && opts.hostKeys) {
    report = await tracePlan(report, set, {
      staging: opts.staging,
      ...(opts.stagingPassword !== undefined ? { password: opts.stagingPassword } : {}),
      hostKeys: opts.hostKeys,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (done, total, label) => opts.onProgress?.(`tracing ${label}`, done, total),
    });
  }
  return { ...report, strategy: recommendStrategy(report, opts.risk ?? 'medium', opts.downtime ?? 'zero-downtime') };
}

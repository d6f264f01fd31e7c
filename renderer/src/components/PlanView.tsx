import { useEffect, useMemo } from 'react';
import type { ProfileSummary } from '../../../shared/api';
import { downtimeModes, migrationRisks, type DowntimeMode, type MigrationRisk } from '../../../shared/plan';
import { useProfilesStore } from '../store/profiles-store';
import { buildPlan } from '../store/window-actions';
import { useWindowStore } from '../store/window-store';
import { ErrorCallout } from './ErrorCallout';
import { FileViewer } from './FileViewer';
import { PlanMigration } from './PlanMigration';
import { StrategyCard } from './StrategyCard';

interface Props {
  summary: ProfileSummary;
}

/** Phase 1: every migration's statements with their class and locks, the lint findings with their
 * safe rewrites, estimates from this (production) profile, and the recommended strategy. */
export function PlanView({ summary }: Props) {
  const profile = summary.profile;
  const view = useWindowStore((s) => s.windows[profile.id]);
  const setSettings = useWindowStore((s) => s.setSettings);
  const patch = useWindowStore((s) => s.patch);
  const summaries = useProfilesStore((s) => s.summaries);
  const others = useMemo(() => summaries.filter((p) => p.profile.id !== profile.id && p.profile.engine === profile.engine), [summaries, profile.id, profile.engine]);
  useEffect(() => {
    useWindowStore.getState().ensure(profile.id);
  }, [profile.id]);
  if (!view) return null;
  const o = view.planOptions;
  const plan = view.plan;
  return (
    <div className={`plan-view env-${profile.environment}`} data-testid="plan-view">
      <form
        className="window-settings plan-settings"
        onSubmit={(e) => {
          e.preventDefault();
          void buildPlan(profile.id);
        }}
      >
        <label className="field">
          <span className="field-label">Migrations folder</span>
          <input type="text" className="mono" value={view.settings.migrationsDir} placeholder="/home/dba/shop/db/migrations" spellCheck={false} onChange={(e) => setSettings(profile.id, { migrationsDir: e.target.value })} />
        </label>
        <label className="field">
          <span className="field-label">Risk</span>
          <select value={o.risk} onChange={(e) => patch(profile.id, { planOptions: { ...o, risk: e.target.value as MigrationRisk } })}>
            {migrationRisks.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Downtime</span>
          <select value={o.downtime} onChange={(e) => patch(profile.id, { planOptions: { ...o, downtime: e.target.value as DowntimeMode } })}>
            {downtimeModes.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Staging (for the trace)</span>
          <select value={view.settings.stagingId} onChange={(e) => setSettings(profile.id, { stagingId: e.target.value })}>
            <option value="">(none)</option>
            {others.map((p) => (
              <option key={p.profile.id} value={p.profile.id}>
                {p.profile.name} ({p.profile.environment})
              </option>
            ))}
          </select>
        </label>
        <label className="checkbox-inline">
          <input type="checkbox" checked={o.trace} disabled={!view.settings.stagingId} onChange={(e) => patch(profile.id, { planOptions: { ...o, trace: e.target.checked } })} /> Trace real locks
        </label>
        <button type="submit" className="button primary" disabled={!view.settings.migrationsDir.trim() || view.planning}>
          {view.planning ? 'Analysing…' : 'Analyse'}
        </button>
      </form>
      {view.planError && <ErrorCallout error={view.planError} title="The plan could not be built" />}
      {plan ? (
        <div className="plan-body">
          <div className="plan-counts" data-testid="plan-counts">
            <span className={`pill ${plan.counts.error ? 'bad' : 'ok'}`}>{plan.counts.error} errors</span>
            <span className={`pill ${plan.counts.warning ? 'warn' : 'ok'}`}>{plan.counts.warning} warnings</span>
            <span className="pill">{plan.counts.info} notes</span>
            <span className="pill">{plan.counts.silenced} silenced</span>
            <span className="muted small">
              {plan.counts.statements} statements in {plan.migrations.length} migrations{plan.estimated ? ' · sizes from this profile' : ''}
              {plan.traced ? ' · traced on a scratch copy of staging' : ''}
            </span>
          </div>
          {plan.problems.map((p, i) => (
            <div key={`p${i}`} className={`plan-note small ${p.severity}`}>
              {p.file ? <span className="mono">{p.file}{p.line ? `:${p.line}` : ''}: </span> : null}
              {p.message}
            </div>
          ))}
          {plan.notes.map((n, i) => (
            <div key={i} className="plan-note small">
              {n}
            </div>
          ))}
          {plan.strategy && <StrategyCard strategy={plan.strategy} />}
          <div className="plan-columns">
            <ol className="plan-migrations">
              {plan.migrations.map((m) => (
                <PlanMigration key={m.version} profileId={profile.id} migration={m} />
              ))}
            </ol>
            {view.viewing && <FileViewer profileId={profile.id} viewing={view.viewing} />}
          </div>
        </div>
      ) : (
        !view.planError && <p className="muted">Analyse the folder: each statement's lock and what it blocks, the safety rules it breaks with the safe rewrite, estimates from this profile's table sizes, and the strategy to use.</p>
      )}
    </div>
  );
}

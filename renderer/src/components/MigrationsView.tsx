import { useEffect, useMemo } from 'react';
import type { ProfileSummary } from '../../../shared/api';
import { engineLabels, hostPort } from '../format/labels';
import { useProfilesStore } from '../store/profiles-store';
import { inspectMigrations, loadPhase0, runPhase0 } from '../store/window-actions';
import { useWindowStore } from '../store/window-store';
import { EnvironmentTag } from './EnvironmentTag';
import { ErrorCallout } from './ErrorCallout';
import { MigrationStatusPanel } from './MigrationStatusPanel';
import { Phase0Panel } from './Phase0Panel';

interface Props {
  summary: ProfileSummary;
}

/** A migration window on the selected profile: its settings, the database's migration status and
 * the runner's actions on the left, Phase 0's checks and gate on the right. */
export function MigrationsView({ summary }: Props) {
  const profile = summary.profile;
  const view = useWindowStore((s) => s.windows[profile.id]);
  const setSettings = useWindowStore((s) => s.setSettings);
  const summaries = useProfilesStore((s) => s.summaries);
  const others = useMemo(() => summaries.filter((p) => p.profile.id !== profile.id && p.profile.engine === profile.engine), [summaries, profile.id, profile.engine]);
  // PgBouncer's admin console is a PostgreSQL profile whose database is the special `pgbouncer`.
  const poolers = useMemo(() => summaries.filter((p) => p.profile.engine === 'postgres' && p.profile.database === 'pgbouncer'), [summaries]);
  const attachedPooler = poolers.find((o) => o.profile.id === profile.pgbouncerProfileId);

  useEffect(() => {
    useWindowStore.getState().ensure(profile.id);
    void loadPhase0(profile.id);
    if (useWindowStore.getState().windows[profile.id]?.settings.migrationsDir) void inspectMigrations(profile.id);
  }, [profile.id]);

  if (!view) return null;
  const s = view.settings;
  return (
    <div className={`migrations-view env-${profile.environment}`} data-testid="migrations-view">
      <header className="workspace-header">
        <div className="workspace-title">
          <h1>{profile.name}</h1>
          <EnvironmentTag environment={profile.environment} />
          <span className="workspace-target mono">
            {engineLabels[profile.engine]} · {hostPort(profile.host, profile.port)}
            {profile.database ? ` / ${profile.database}` : ''}
          </span>
        </div>
      </header>

      <form
        className="window-settings"
        onSubmit={(e) => {
          e.preventDefault();
          void inspectMigrations(profile.id);
        }}
      >
        <label className="field">
          <span className="field-label">Migrations folder</span>
          <input type="text" className="mono" value={s.migrationsDir} placeholder="/home/dba/shop/db/migrations" spellCheck={false} onChange={(e) => setSettings(profile.id, { migrationsDir: e.target.value })} />
        </label>
        <label className="field">
          <span className="field-label">Staging profile</span>
          <select value={s.stagingId} onChange={(e) => setSettings(profile.id, { stagingId: e.target.value })}>
            <option value="">(none)</option>
            {others.map((o) => (
              <option key={o.profile.id} value={o.profile.id}>
                {o.profile.name} ({o.profile.environment})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Backup folder (optional)</span>
          <input type="text" className="mono" value={s.backupDir} placeholder="/var/backups/shop" spellCheck={false} onChange={(e) => setSettings(profile.id, { backupDir: e.target.value })} />
        </label>
        {profile.engine === 'postgres' && (
          <label className="field">
            <span className="field-label">PgBouncer (optional)</span>
            <select value={s.pgbouncerId} onChange={(e) => setSettings(profile.id, { pgbouncerId: e.target.value })}>
              {/* Left empty, Phase 0 uses the pooler attached to the profile, if any. */}
              <option value="">{attachedPooler ? `${attachedPooler.profile.name} (attached to the profile)` : '(none)'}</option>
              {poolers.map((o) => (
                <option key={o.profile.id} value={o.profile.id}>
                  {o.profile.name} ({hostPort(o.profile.host, o.profile.port)})
                </option>
              ))}
              {s.pgbouncerId && !poolers.some((o) => o.profile.id === s.pgbouncerId) && <option value={s.pgbouncerId}>(deleted profile)</option>}
            </select>
          </label>
        )}
        <div className="window-settings-actions">
          <button type="submit" className="button" disabled={!s.migrationsDir.trim() || view.inspecting}>
            {view.inspecting ? 'Reading…' : 'Read status'}
          </button>
          <button type="button" className="button primary" disabled={view.phase0Running} onClick={() => void runPhase0(profile.id)}>
            {view.phase0Running ? 'Phase 0 running…' : 'Run Phase 0'}
          </button>
        </div>
      </form>

      <div className="migrations-columns">
        <section className="migrations-left">
          {view.inspectError && <ErrorCallout error={view.inspectError} title="Cannot read the migration status" />}
          {view.inspected ? <MigrationStatusPanel profile={profile} view={view} /> : !view.inspectError && <p className="muted">Give the migrations folder and read the status: version, pending files, drift, and the record of a failed run.</p>}
        </section>
        <section className="migrations-right">
          {view.phase0Error && <ErrorCallout error={view.phase0Error} title="Phase 0 could not run" />}
          {view.phase0 ? <Phase0Panel profileId={profile.id} report={view.phase0} running={view.phase0Running} /> : <p className="muted">Phase 0 checks every prerequisite of the window (access, backup, staging, rollback scripts, syntax, pool, baseline, locks) and decides whether the window may proceed.</p>}
        </section>
      </div>
    </div>
  );
}

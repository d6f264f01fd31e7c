import { useState } from 'react';
import type { Profile } from '../../../shared/profile';
import { useWatchOnly } from '../store/app-info-store';
import { cancelMigrations, forceVersion, runMigrations } from '../store/window-actions';
import type { WindowView } from '../store/window-store';
import { ErrorCallout } from './ErrorCallout';

interface Props {
  profile: Profile;
  view: WindowView;
}

/** The database's place in the set: version, dirty record with its next step, pending and drift,
 * and the runner's actions (production asks for the profile's name first). */
export function MigrationStatusPanel({ profile, view }: Props) {
  const watchOnly = useWatchOnly();
  const [confirm, setConfirm] = useState('');
  const [forceTo, setForceTo] = useState('');
  const { set, status } = view.inspected!;
  const production = profile.environment === 'production';
  const confirmed = !production || confirm === profile.name;
  const busy = view.running !== undefined;
  const setErrors = set.problems.filter((p) => p.severity === 'error');
  const f = status.failure;
  return (
    <div className="migration-status" data-testid="migration-status">
      <div className="status-grid">
        <div className="stat">
          <span className="stat-label">version</span>
          <span className={`stat-value ${status.dirty ? 'bad' : ''}`} data-testid="migration-version">
            {status.version ?? 'none'}
            {status.dirty ? ' · dirty' : ''}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">applied</span>
          <span className="stat-value">{status.applied.length}</span>
        </div>
        <div className="stat">
          <span className="stat-label">pending</span>
          <span className="stat-value">{status.pending.length}</span>
        </div>
        <div className="stat wide">
          <span className="stat-label">set</span>
          <span className="stat-value small">{set.formatLabel}</span>
        </div>
      </div>

      {f && (
        <div className="failure-record" role="alert" data-testid="failure-record">
          <div className="failure-title">
            Migration {f.version} ({f.direction}) failed{f.statement ? ` at ${f.statement.file}:${f.statement.line}` : ''}
          </div>
          <div className="failure-error mono">{f.error.message}</div>
          <div className="failure-lists">
            <div>
              <div className="stat-label">in effect</div>
              {f.applied.length ? f.applied.map((s) => <div key={s.index} className="mono small">#{s.index + 1} line {s.line}: {s.summary}</div>) : <div className="muted small">none</div>}
            </div>
            <div>
              <div className="stat-label">not applied</div>
              {f.notApplied.length ? f.notApplied.map((s) => <div key={s.index} className="mono small">#{s.index + 1} line {s.line}: {s.summary}</div>) : <div className="muted small">none</div>}
            </div>
          </div>
          <div className="failure-next">Next step: {f.nextStep}</div>
        </div>
      )}

      {(setErrors.length > 0 || status.drift.length > 0 || status.unknownApplied.length > 0) && (
        <ul className="set-problems">
          {setErrors.map((p, i) => (
            <li key={`e${i}`} className="bad">
              {p.file ? <span className="mono">{p.file}{p.line ? `:${p.line}` : ''}</span> : null} {p.message}
            </li>
          ))}
          {status.drift.map((d) => (
            <li key={`d${d.version}`} className="warn">
              <span className="mono">{d.file}</span> was edited after it was applied.
            </li>
          ))}
          {status.unknownApplied.length > 0 && <li className="warn">The database has version(s) {status.unknownApplied.join(', ')} that the folder does not.</li>}
        </ul>
      )}

      <table className="pending-table">
        <thead>
          <tr>
            <th>version</th>
            <th>migration</th>
            <th>state</th>
          </tr>
        </thead>
        <tbody>
          {set.migrations.map((m) => {
            const applied = status.applied.find((a) => a.version === m.version);
            const state = f && f.version === m.version ? 'failed' : applied ? 'applied' : 'pending';
            return (
              <tr key={m.version} className={`row-${state}`}>
                <td className="mono">{m.version}</td>
                <td>
                  {m.title}
                  {!m.down && <span className="pill warn">no down</span>}
                </td>
                <td>{state === 'applied' && applied?.appliedAt ? `applied ${new Date(applied.appliedAt).toLocaleString()}` : state}</td>
              </tr>
            );
          })}
        </tbody>
      </table>

      {!watchOnly && (
        <div className="runner-actions">
          {production && (
            <label className="field confirm-field">
              <span className="field-label">Type “{profile.name}” to run on production</span>
              <input type="text" value={confirm} onChange={(e) => setConfirm(e.target.value)} spellCheck={false} />
            </label>
          )}
          <div className="runner-buttons">
            <button type="button" className="button primary" disabled={busy || !confirmed || status.dirty || status.pending.length === 0} onClick={() => void runMigrations(profile.id, 'up', confirm)}>
              {view.running === 'up' ? 'Applying…' : `Apply ${status.pending.length} pending`}
            </button>
            <button type="button" className="button" disabled={busy || !confirmed || status.dirty || status.applied.length === 0} onClick={() => void runMigrations(profile.id, 'down', confirm)}>
              {view.running === 'down' ? 'Reverting…' : 'Revert the last one'}
            </button>
            {busy && (
              <button type="button" className="button danger" onClick={() => void cancelMigrations(profile.id)}>
                Cancel
              </button>
            )}
          </div>
          {status.dirty && (
            <div className="force-row">
              <label className="field">
                <span className="field-label">After repairing by hand, force the version the schema matches</span>
                <input type="text" className="mono" inputMode="numeric" value={forceTo} onChange={(e) => setForceTo(e.target.value.replace(/[^\d]/g, ''))} placeholder={String(f?.version ?? status.version ?? 0)} />
              </label>
              <button type="button" className="button danger" disabled={busy || !confirmed || forceTo === ''} onClick={() => void forceVersion(profile.id, Number(forceTo), confirm)}>
                Force version {forceTo || '…'}
              </button>
            </div>
          )}
          {view.progress && (
            <div className="run-progress" role="status">
              <progress max={1} value={view.progress.fraction ?? undefined} /> {view.progress.label}
              {view.progress.rate ? ` · ${view.progress.rate}` : ''}
              {view.progress.etaMs !== undefined ? ` · about ${Math.ceil(view.progress.etaMs / 1000)} s left` : ''}
            </div>
          )}
        </div>
      )}
      {view.runError && <ErrorCallout error={view.runError} title="The run stopped" />}
      {view.lastRun && !view.runError && (
        <div className="run-result" role="status">
          Version {view.lastRun.fromVersion ?? 0} → {view.lastRun.toVersion ?? 0}: {view.lastRun.steps.length} step(s) in {view.lastRun.durationMs} ms
          {view.lastRun.steps.some((s) => s.lockRetries) ? `, ${view.lastRun.steps.reduce((n, s) => n + s.lockRetries, 0)} lock retries` : ''}. Journal: <span className="mono">{view.lastRun.journalFile}</span>
        </div>
      )}
    </div>
  );
}

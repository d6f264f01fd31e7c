import { useState } from 'react';
import type { CheckResult } from '../../../shared/checks';
import { useWatchOnly } from '../store/app-info-store';
import { acceptCheck, attestCheck, runPhase0 } from '../store/window-actions';

interface Props {
  profileId: string;
  check: CheckResult;
  disabled: boolean;
}

const statusLabels: Record<CheckResult['status'], string> = {
  queued: 'queued',
  running: 'running',
  pass: 'pass',
  fail: 'fail',
  error: 'error',
  skipped: 'skipped',
  pending: 'to confirm',
};

/** One check: status, severity, what it found; opens to its evidence, and offers what a person can
 * do about it (run it again, confirm it, or accept a medium failure with a reason). */
export function CheckRow({ profileId, check, disabled }: Props) {
  const watchOnly = useWatchOnly();
  const [open, setOpen] = useState(check.status === 'fail' || check.status === 'error');
  const [name, setName] = useState('');
  const [reason, setReason] = useState('');
  const failing = check.status === 'fail' || check.status === 'error';
  const e = check.evidence;
  const hasEvidence = e.facts.length > 0 || e.tables.length > 0 || !!e.text || e.files.length > 0;
  return (
    <li className={`check check-${check.status} severity-${check.severity}`} data-testid={`check-${check.id}`} data-status={check.status} data-started={check.startedAt}>
      <div className="check-head">
        <span className={`check-status status-${check.status}`}>{check.status === 'running' ? <span className="spinner" aria-hidden="true" /> : null}{statusLabels[check.status]}</span>
        <span className={`severity severity-${check.severity}`}>{check.severity}</span>
        <button type="button" className="check-title link-button" aria-expanded={open} onClick={() => setOpen(!open)} disabled={!hasEvidence && !failing}>
          {check.title}
        </button>
        {check.durationMs !== undefined && <span className="check-time small muted">{check.durationMs < 1000 ? `${check.durationMs} ms` : `${(check.durationMs / 1000).toFixed(1)} s`}</span>}
        {!watchOnly && !check.id.startsWith('attest-') && check.status !== 'queued' && check.status !== 'running' && (
          <button type="button" className="button small" disabled={disabled} onClick={() => void runPhase0(profileId, [check.id])}>
            Re-run
          </button>
        )}
      </div>
      <div className="check-summary">{check.summary}</div>
      {check.accepted && (
        <div className="check-accepted small">
          Accepted by {check.accepted.by} ({new Date(check.accepted.at).toLocaleString()}): {check.accepted.reason}
        </div>
      )}
      {failing && check.hint && !check.accepted && <div className="check-hint">{check.hint}</div>}

      {!watchOnly && check.status === 'pending' && (
        <form
          className="check-form"
          onSubmit={(ev) => {
            ev.preventDefault();
            void attestCheck(profileId, check.id, name.trim());
          }}
        >
          <input type="text" placeholder="Your name" aria-label="Your name" value={name} onChange={(ev) => setName(ev.target.value)} />
          <button type="submit" className="button small" disabled={name.trim().length < 2}>
            Confirm
          </button>
        </form>
      )}
      {!watchOnly && failing && check.severity === 'medium' && !check.accepted && (
        <form
          className="check-form"
          onSubmit={(ev) => {
            ev.preventDefault();
            void acceptCheck(profileId, check.id, name.trim(), reason.trim());
          }}
        >
          <input type="text" placeholder="Your name" aria-label="Your name" value={name} onChange={(ev) => setName(ev.target.value)} />
          <input type="text" className="wide" placeholder="Why the window may proceed anyway (goes into the record)" aria-label="Reason" value={reason} onChange={(ev) => setReason(ev.target.value)} />
          <button type="submit" className="button small" disabled={name.trim().length < 2 || reason.trim().length < 10}>
            Accept risk
          </button>
        </form>
      )}

      {open && hasEvidence && (
        <div className="evidence">
          {e.facts.length > 0 && (
            <dl className="facts">
              {e.facts.map(([k, v], i) => (
                <div key={i} className="fact">
                  <dt>{k}</dt>
                  <dd className="mono">{v}</dd>
                </div>
              ))}
            </dl>
          )}
          {e.tables.map((t, i) => (
            <div key={i} className="evidence-table">
              <div className="evidence-table-title">{t.title}</div>
              {t.rows.length === 0 ? (
                <div className="muted small">none</div>
              ) : (
                <table>
                  <thead>
                    <tr>
                      {t.columns.map((c, j) => (
                        <th key={j}>{c}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {t.rows.map((r, j) => (
                      <tr key={j}>
                        {r.map((cell, k) => (
                          <td key={k} className={k === r.length - 1 ? 'mono wrap' : 'mono'}>
                            {cell}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          ))}
          {e.text && <pre className="evidence-text">{e.text}</pre>}
          {e.files.length > 0 && (
            <div className="small">
              Files:{' '}
              {e.files.map((f) => (
                <span key={f} className="mono">
                  {f}{' '}
                </span>
              ))}
            </div>
          )}
        </div>
      )}
    </li>
  );
}

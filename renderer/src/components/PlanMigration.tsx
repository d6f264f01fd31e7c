import { useState } from 'react';
import { pgLockNames, pgLockModes, type MigrationPlan, type PgLockMode } from '../../../shared/plan';
import { showFile } from '../store/window-actions';

interface Props {
  profileId: string;
  migration: MigrationPlan;
}

const classLabels: Record<MigrationPlan['class'], string> = {
  'backward-compatible': 'compatible',
  'backward-incompatible': 'incompatible',
  'data-transformation': 'data',
  other: 'other',
};

/** Lock strength 0..7, weakest first: the colour of the lock chip. */
const strength = (m: PgLockMode) => pgLockModes.indexOf(m);

/** One migration: its class and strongest lock; opens to its statements (locks coloured by
 * strength, rewrites, scans, the trace's answer), estimates and findings with their rewrites. */
export function PlanMigration({ profileId, migration: m }: Props) {
  const findings = [...(m.up?.findings ?? []), ...(m.down?.findings ?? [])];
  const open = findings.some((f) => !f.silenced && f.severity !== 'info') || Boolean(m.up?.parseError || m.down?.parseError);
  const [expanded, setExpanded] = useState(open);
  const worst = findings.filter((f) => !f.silenced).reduce<string | null>((w, f) => (f.severity === 'error' ? 'error' : w === 'error' ? w : f.severity === 'warning' ? 'warning' : (w ?? 'info')), null);
  return (
    <li className={`plan-migration class-${m.class}`} data-testid={`plan-migration-${m.version}`}>
      <button type="button" className="plan-migration-head" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
        <span className="mono plan-version">{m.version}</span>
        <span className="plan-title">{m.title}</span>
        <span className={`class-tag class-${m.class}`}>{classLabels[m.class]}</span>
        {m.strongestLock && <span className={`lock-chip lock-${strength(m.strongestLock.lock)}`}>{pgLockNames[m.strongestLock.lock]}</span>}
        {worst && <span className={`pill ${worst === 'error' ? 'bad' : worst === 'warning' ? 'warn' : ''}`}>{findings.filter((f) => !f.silenced).length} finding(s)</span>}
      </button>
      {expanded && (
        <div className="plan-migration-body">
          {[m.up, m.down].map((f) =>
            f?.parseError ? (
              <button key={f.file} type="button" className="finding error link-button" onClick={() => void showFile(profileId, f.file, f.parseError!.line)}>
                {f.file}:{f.parseError.line} does not parse: {f.parseError.message.split('\n')[0]}
              </button>
            ) : null,
          )}
          {m.up && m.up.statements.length > 0 && (
            <table className="plan-statements">
              <thead>
                <tr>
                  <th>line</th>
                  <th>statement</th>
                  <th>locks</th>
                  <th>effect</th>
                </tr>
              </thead>
              <tbody>
                {m.up.statements.map((s) => (
                  <tr key={s.index} className={`class-${s.class}`}>
                    <td className="mono">
                      <button type="button" className="link-button mono" onClick={() => void showFile(profileId, s.file, s.line)}>
                        {s.line}
                      </button>
                    </td>
                    <td>
                      <div className="statement-command">{s.command}</div>
                      <div className="mono small muted statement-summary">{s.summary}</div>
                    </td>
                    <td>
                      {s.unparsed ? (
                        <span className="muted small">not parsed: {s.unparsed}</span>
                      ) : s.online ? (
                        <div className={`lock-chip ${s.online.algorithm === 'COPY' || s.online.lock === 'EXCLUSIVE' ? 'lock-7' : s.online.lock === 'SHARED' ? 'lock-5' : 'lock-2'}`}>
                          {s.online.algorithm}, LOCK={s.online.lock}
                          {s.online.rebuild ? ', rebuilds' : ''}
                        </div>
                      ) : s.locks.length === 0 ? (
                        <span className="muted small">none</span>
                      ) : (
                        s.locks.map((l) => (
                          <div key={l.table} className={`lock-chip lock-${strength(l.lock)}`} title={`blocks ${s.blocks}`}>
                            {pgLockNames[l.lock]} <span className="mono">{l.table}</span>
                          </div>
                        ))
                      )}
                      {s.trace && (
                        <div className={`trace small ${s.trace.differences.some((d) => /unexplained/.test(d)) ? 'bad' : ''}`}>
                          {s.trace.error ? s.trace.error : s.trace.differences.length ? `trace: ${s.trace.differences.join('; ')}` : 'trace agrees'}
                        </div>
                      )}
                    </td>
                    <td className="small">
                      {[s.rewrites.length ? `rewrites ${s.rewrites.join(', ')}` : '', s.scans.length ? `scans ${s.scans.join(', ')}` : '', `blocks ${s.blocks}`, s.outsideTransaction ? 'outside a transaction' : ''].filter(Boolean).join(' · ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {m.estimates.length > 0 && (
            <ul className="plan-estimates small">
              {m.estimates.map((e, i) => (
                <li key={i}>
                  line {e.line}: {e.operation} of <span className="mono">{e.table}</span>
                  {e.rows !== null ? ` (${e.rows.toLocaleString()} rows)` : ''}: <strong>{e.time}</strong>; {e.window}
                  {e.foreignKeys.length > 0 && <div className="muted mono">{e.foreignKeys.join(' · ')}</div>}
                </li>
              ))}
            </ul>
          )}
          {findings.length > 0 && (
            <ul className="findings">
              {findings.map((f, i) => (
                <li key={i} className={`finding ${f.silenced ? 'silenced' : f.severity}`} data-rule={f.rule}>
                  <div className="finding-head">
                    <span className={`severity severity-${f.severity}`}>{f.silenced ? 'silenced' : f.severity}</span>
                    <span className="mono finding-rule">{f.rule}</span>
                    <button type="button" className="link-button mono" onClick={() => void showFile(profileId, f.file, f.line)}>
                      {f.file}:{f.line}
                    </button>
                  </div>
                  <div className="finding-message">{f.message}</div>
                  {f.silenced ? (
                    <div className="small muted">Silenced: {f.silenced.reason}</div>
                  ) : (
                    <>
                      <div className="small muted">{f.why}</div>
                      <pre className="finding-rewrite">{f.rewrite}</pre>
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </li>
  );
}

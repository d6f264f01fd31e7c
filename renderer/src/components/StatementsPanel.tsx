import { memo } from 'react';
import type { StatementsPanel as Statements } from '../../../shared/monitor';
import { formatMsValue, formatRate, oneLine } from '../format/health-format';
import { baselineRatioThreshold, levelOf } from '../health/thresholds';
import { BaselineControl } from './BaselineControl';
import { HealthPanel, type PanelError } from './HealthPanel';
import { StatChip } from './StatChip';

interface Props {
  profileId: string;
  statements?: Statements;
  error?: PanelError;
}

export const StatementsPanel = memo(function StatementsPanel({ profileId, statements: st, error }: Props) {
  const top = st?.top ?? [];
  const busiest = top.reduce((m, r) => Math.max(m, r.totalMsPerSec), 0);
  const hasBaseline = top.some((r) => r.baselineMeanMs !== null);
  // MongoDB's top counts no rows, and its rows are collections, not statements: no baseline either.
  const hasRows = top.some((r) => r.rowsPerSec !== null);
  return (
    <HealthPanel
      name="statements"
      title="Statements"
      error={error}
      wide
      stats={
        st?.available && (
          <>
            <StatChip label="tracked" value={st.tracked.toLocaleString('en-US')} />
            <StatChip label="ms/s in top" value={formatMsValue(top.reduce((n, r) => n + r.totalMsPerSec, 0))} title="Server time the listed statements took per second of wall time" />
            {!st.note && <BaselineControl profileId={profileId} />}
          </>
        )
      }
    >
      {st && !st.available && (
        <div className="error-callout notice" role="status" data-testid="statements-unavailable">
          <div className="error-title">Statement statistics are not available on this server</div>
          {st.hint && <div className="error-hint">{st.hint}</div>}
        </div>
      )}
      {st?.available && st.note && <p className="muted small" data-testid="statements-note">{st.note}</p>}
      {st?.available && top.length === 0 && <p className="muted small">No statement ran during the last interval.</p>}
      {st?.available && top.length > 0 && (
        <div className="statements-scroll">
          <table className="health-table statements-table">
            <thead>
              <tr>
                <th className="query-col">Statement</th>
                <th className="num">Time ms/s</th>
                <th className="num">Calls/s</th>
                <th className="num">Mean ms</th>
                {hasBaseline && <th className="num">Baseline</th>}
                {hasRows && <th className="num">Rows/s</th>}
              </tr>
            </thead>
            <tbody>
              {top.map((r) => {
                const ratio = r.meanMs !== null && r.baselineMeanMs ? r.meanMs / r.baselineMeanMs : null;
                const level = levelOf(ratio, baselineRatioThreshold);
                return (
                  <tr key={r.id}>
                    <td className="query-col">
                      <code title={r.query}>{oneLine(r.query)}</code>
                    </td>
                    <td className="num bar-cell">
                      <span className="cell-bar" style={{ width: `${busiest > 0 ? (100 * r.totalMsPerSec) / busiest : 0}%` }} aria-hidden="true" />
                      <span className="cell-value">{formatMsValue(r.totalMsPerSec)}</span>
                    </td>
                    <td className="num">{formatRate(r.callsPerSec)}</td>
                    <td className={`num level-${level}`}>{formatMsValue(r.meanMs)}</td>
                    {hasBaseline && (
                      <td className="num muted">
                        {formatMsValue(r.baselineMeanMs)}
                        {ratio !== null && <span className={`delta level-${level}`}> {ratio >= 1 ? '+' : ''}{Math.round((ratio - 1) * 100)}%</span>}
                      </td>
                    )}
                    {hasRows && <td className="num">{formatRate(r.rowsPerSec)}</td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </HealthPanel>
  );
});

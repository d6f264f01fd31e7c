import type { ActivityPanel } from '../../../shared/monitor';
import { formatDuration, oneLine, sessionLabel } from '../format/health-format';

type Row = ActivityPanel['longRunning'][number];

interface Props {
  title: string;
  rows: Row[];
  /** What "none" means here, e.g. "No query has run longer than 60 s." */
  none: string;
  durationLabel: string;
  testId: string;
}

/** Sessions as pg_activity lists them: longest first, the query on one line. */
export function SessionTable({ title, rows, none, durationLabel, testId }: Props) {
  const sorted = [...rows].sort((a, b) => b.durationMs - a.durationMs);
  return (
    <div className="session-table" data-testid={testId}>
      <h4>
        {title} <span className="count">{rows.length}</span>
      </h4>
      {sorted.length === 0 ? (
        <p className="muted small">{none}</p>
      ) : (
        <table className="health-table">
          <thead>
            <tr>
              <th className="num">PID</th>
              <th className="num">{durationLabel}</th>
              <th>User · app</th>
              <th>State</th>
              <th className="query-col">Query</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.pid}>
                <td className="num mono">{r.sessionId ? sessionLabel(r) : r.pid}</td>
                <td className="num level-warn">{formatDuration(r.durationMs)}</td>
                <td className="nowrap">
                  {r.user}
                  {r.application && <span className="muted"> · {r.application}</span>}
                </td>
                <td className="nowrap">{r.state}</td>
                <td className="query-col">
                  <code title={r.query}>{oneLine(r.query)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

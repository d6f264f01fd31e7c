import { memo, useMemo } from 'react';
import type { ReplicationPanel as Replication } from '../../../shared/monitor';
import { formatBytes, formatSeconds } from '../format/health-format';
import { lineColors } from '../health/palette';
import type { SeriesSet } from '../health/series-buffer';
import { levelOf, replicationLagSecondsThreshold, worst } from '../health/thresholds';
import { zoomTo } from '../store/health-actions';
import { HealthPanel, type PanelError } from './HealthPanel';
import { StatChip } from './StatChip';
import { TimeChart, type ChartLine } from './TimeChart';

interface Props {
  profileId: string;
  replication?: Replication;
  error?: PanelError;
  series: SeriesSet;
  window: { from: number; to: number };
  points: number;
}

const lagLevel = (s: number | null) => levelOf(s, replicationLagSecondsThreshold);
const roleLabels = { primary: 'primary', replica: 'replica', standalone: 'standalone' } as const;

export const ReplicationPanel = memo(function ReplicationPanel({ profileId, replication: r, error, series, window, points }: Props) {
  const lines = useMemo<ChartLine[]>(() => [{ id: 'lag', label: 'max replay lag', color: lineColors.lag, points: series['replication.maxLagSeconds'] }], [series]);
  const lags = r ? [...r.replicas.map((x) => x.lagSeconds), r.self?.lagSeconds ?? null] : [];
  const level = worst(...lags.map(lagLevel), r?.self?.replayPaused ? 'warn' : 'ok');
  const maxLag = lags.reduce<number | null>((m, x) => (x === null ? m : Math.max(m ?? 0, x)), null);
  // A server with no replicas, no slots and no upstream has nothing to chart.
  const charted = !!r && (r.role !== 'standalone' || r.slots.length > 0);
  return (
    <HealthPanel
      name="replication"
      title="Replication"
      level={level}
      error={error}
      stats={
        r && (
          <>
            <span className={`pill role-${r.role}`} data-testid="replication-role">
              {roleLabels[r.role]}
            </span>
            {r.role === 'primary' && <StatChip label={r.replicas.length === 1 ? 'replica' : 'replicas'} value={r.replicas.length} />}
            {charted && <StatChip label="max lag" value={formatSeconds(maxLag)} level={lagLevel(maxLag)} />}
          </>
        )
      }
    >
      {charted && (
        <TimeChart
          profileId={profileId}
          chartId="replication"
          lines={lines}
          window={window}
          points={points}
          threshold={replicationLagSecondsThreshold}
          formatValue={formatSeconds}
          onZoom={zoomTo}
        />
      )}
      {r?.self && (
        <dl className="kv replica-self">
          <dt>State</dt>
          <dd>{r.self.state}</dd>
          <dt>Replay lag</dt>
          <dd className={`level-${lagLevel(r.self.lagSeconds)}`}>
            {formatSeconds(r.self.lagSeconds)} · {formatBytes(r.self.lagBytes)}
          </dd>
          <dt>Replay</dt>
          <dd>{r.self.replayPaused ? <span className="pill warn">paused</span> : 'running'}</dd>
        </dl>
      )}
      {r && r.replicas.length > 0 && (
        <table className="health-table">
          <thead>
            <tr>
              <th>Replica</th>
              <th>State</th>
              <th className="num">Lag</th>
              <th className="num">Behind</th>
            </tr>
          </thead>
          <tbody>
            {r.replicas.map((x) => (
              <tr key={`${x.name}-${x.address}`}>
                <td>
                  {x.name || x.address}
                  {x.name && x.address && <span className="muted mono"> {x.address}</span>}
                </td>
                <td>
                  {x.state}
                  {x.syncState && <span className="muted"> · {x.syncState}</span>}
                </td>
                <td className={`num level-${lagLevel(x.lagSeconds)}`}>{formatSeconds(x.lagSeconds)}</td>
                <td className="num">{formatBytes(x.lagBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r && r.slots.length > 0 && (
        <table className="health-table">
          <thead>
            <tr>
              <th>Slot</th>
              <th>Active</th>
              <th className="num">Retained WAL</th>
            </tr>
          </thead>
          <tbody>
            {r.slots.map((s) => (
              <tr key={s.name}>
                <td className="mono">{s.name}</td>
                <td className={s.active ? '' : 'level-warn'}>{s.active ? 'yes' : 'no'}</td>
                <td className="num">{formatBytes(s.retainedBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r?.oplog && (
        <p className="small" data-testid="oplog-window" title="A member that falls further behind than the oplog reaches back cannot catch up and must be resynced.">
          Oplog window <strong className={r.oplog.windowSeconds < 3600 ? 'level-critical' : r.oplog.windowSeconds < 24 * 3600 ? 'level-warn' : ''}>{formatSeconds(r.oplog.windowSeconds)}</strong>
          <span className="muted">
            {' '}
            · {formatBytes(r.oplog.usedBytes)} of {formatBytes(r.oplog.maxBytes)}
          </span>
        </p>
      )}
      {r?.role === 'primary' && r.replicas.length === 0 && <p className="muted small">No replica is connected.</p>}
      {r?.role === 'standalone' && r.slots.length === 0 && <p className="muted small">Standalone: no replicas, no upstream and no replication slots.</p>}
    </HealthPanel>
  );
});

import { memo, useMemo } from 'react';
import type { PoolPanel as Pool, PoolerPanel } from '../../../shared/monitor';
import { lineColors } from '../health/palette';
import type { SeriesSet } from '../health/series-buffer';
import { levelOf, poolThreshold } from '../health/thresholds';
import { zoomTo } from '../store/health-actions';
import { CountList } from './CountList';
import { HealthPanel, type PanelError } from './HealthPanel';
import { PoolerPools } from './PoolerPools';
import { StatChip } from './StatChip';
import { TimeChart, type ChartLine } from './TimeChart';

interface Props {
  profileId: string;
  pool?: Pool;
  /** The PgBouncer attached to the profile, when there is one. */
  pooler?: PoolerPanel;
  error?: PanelError;
  series: SeriesSet;
  window: { from: number; to: number };
  points: number;
}

const count = (v: number) => String(Math.round(v));

export const PoolPanel = memo(function PoolPanel({ profileId, pool, pooler, error, series, window, points }: Props) {
  const hasPooler = pooler !== undefined;
  const lines = useMemo<ChartLine[]>(
    () => [
      { id: 'total', label: 'total', color: lineColors.total, points: series['pool.total'] },
      { id: 'active', label: 'active', color: lineColors.active, points: series['pool.active'] },
      { id: 'idle', label: 'idle', color: lineColors.idle, points: series['pool.idle'] },
      { id: 'iit', label: 'idle in tx', color: lineColors.idleInTransaction, points: series['pool.idleInTransaction'] },
      { id: 'waiting', label: 'waiting', color: lineColors.waiting, points: series['pool.waiting'] },
      ...(hasPooler ? [{ id: 'pgb-waiting', label: 'waiting at PgBouncer', color: lineColors.poolerWaiting, points: series['pooler.clientsWaiting'] }] : []),
    ],
    [series, hasPooler],
  );
  const threshold = pool && pool.max > 0 ? poolThreshold(pool.max) : undefined;
  const level = pool ? levelOf(pool.total, threshold) : 'ok';
  const pct = pool && pool.max > 0 ? Math.round((100 * pool.total) / pool.max) : undefined;
  return (
    <HealthPanel
      name="pool"
      title="Connection pool"
      level={level}
      error={error}
      stats={
        pool && (
          <>
            <StatChip
              label={`of ${pool.max.toLocaleString('en-US')}${pct !== undefined ? ` · ${pct}%` : ''}`}
              value={pool.total}
              level={level}
              title={`${pool.total} client sessions of max_connections ${pool.max} (${pool.reserved} reserved for superusers)`}
              testId="pool-total"
            />
            <StatChip label="active" value={pool.active} />
            <StatChip label="idle" value={pool.idle} />
            <StatChip label="idle in tx" value={pool.idleInTransaction} level={pool.idleInTransaction > 0 ? 'warn' : 'ok'} />
            <StatChip label="waiting" value={pool.waiting} level={pool.waiting > 0 ? 'warn' : 'ok'} />
          </>
        )
      }
    >
      <TimeChart
        profileId={profileId}
        chartId="pool"
        lines={lines}
        window={window}
        points={points}
        threshold={threshold}
        fitToData
        minTop={5}
        limit={pool && pool.max > 0 ? { y: pool.max, label: `max_connections ${pool.max}` } : undefined}
        formatValue={count}
        onZoom={zoomTo}
      />
      {pooler && <PoolerPools pooler={pooler} />}
      {pool && (
        <div className="count-lists">
          <CountList title="Applications" items={pool.byApplication} total={pool.total} />
          <CountList title="Users" items={pool.byUser} total={pool.total} />
        </div>
      )}
    </HealthPanel>
  );
});

import { memo, useMemo } from 'react';
import type { ActivityPanel as Activity } from '../../../shared/monitor';
import { formatLimit, formatRate } from '../format/health-format';
import { lineColors } from '../health/palette';
import type { SeriesSet } from '../health/series-buffer';
import { deadlocksPerSecThreshold, idleInTransactionThreshold, levelOf, longRunningThreshold, worst } from '../health/thresholds';
import { zoomTo } from '../store/health-actions';
import { HealthPanel, type PanelError } from './HealthPanel';
import { SessionTable } from './SessionTable';
import { StatChip } from './StatChip';
import { TimeChart, type ChartLine } from './TimeChart';

interface Props {
  profileId: string;
  activity?: Activity;
  error?: PanelError;
  series: SeriesSet;
  window: { from: number; to: number };
  points: number;
}

export const ActivityPanel = memo(function ActivityPanel({ profileId, activity: a, error, series, window, points }: Props) {
  const lines = useMemo<ChartLine[]>(
    () => [
      { id: 'commits', label: 'commits/s', color: lineColors.commits, points: series['activity.commitsPerSec'] },
      { id: 'rollbacks', label: 'rollbacks/s', color: lineColors.rollbacks, points: series['activity.rollbacksPerSec'] },
      { id: 'deadlocks', label: 'deadlocks/s', color: lineColors.deadlocks, points: series['activity.deadlocksPerSec'] },
    ],
    [series],
  );
  const deadlocks = levelOf(a?.deadlocksPerSec, deadlocksPerSecThreshold);
  const long = levelOf(a?.longRunning.length, longRunningThreshold);
  const longTx = levelOf(a?.longTransactions.length, longRunningThreshold);
  const idleTx = levelOf(a?.idleInTransaction.length, idleInTransactionThreshold);
  const threshold = a ? formatLimit(a.thresholdMs) : '';
  return (
    <HealthPanel
      name="activity"
      title="Activity"
      level={worst(deadlocks, long, longTx, idleTx)}
      error={error}
      wide
      stats={
        a && (
          <>
            <StatChip label="commits/s" value={formatRate(a.commitsPerSec)} />
            <StatChip label="rollbacks/s" value={formatRate(a.rollbacksPerSec)} />
            {/* MongoDB has no deadlocks to count (conflicting writes are retried). */}
            {!a.operationsPerSec && <StatChip label="deadlocks/s" value={formatRate(a.deadlocksPerSec)} level={deadlocks} />}
            {a.operationsPerSec && (
              <StatChip
                label="ops/s"
                value={formatRate(Object.values(a.operationsPerSec).reduce((n, v) => n + v, 0))}
                title={Object.entries(a.operationsPerSec)
                  .map(([k, v]) => `${k} ${formatRate(v)}/s`)
                  .join(', ')}
                testId="ops-per-sec"
              />
            )}
            {a.tempFilesPerSec !== null && <StatChip label="temp files/s" value={formatRate(a.tempFilesPerSec)} />}
            <StatChip label={`queries > ${threshold}`} value={a.longRunning.length} level={long} />
            <StatChip label="idle in tx" value={a.idleInTransaction.length} level={idleTx} />
          </>
        )
      }
    >
      <div className="panel-split">
        <TimeChart profileId={profileId} chartId="activity" lines={lines} window={window} points={points} formatValue={formatRate} onZoom={zoomTo} />
        {a && (
          <div className="session-tables">
            <SessionTable
              title={`Queries running longer than ${threshold}`}
              rows={a.longRunning}
              none={`No query has run longer than ${threshold}.`}
              durationLabel="Running"
              testId="long-running"
            />
            <SessionTable
              title={`Transactions open longer than ${threshold}`}
              rows={a.longTransactions}
              none={`No transaction has been open longer than ${threshold}.`}
              durationLabel="Open"
              testId="long-transactions"
            />
            <SessionTable title="Idle in transaction" rows={a.idleInTransaction} none="No session is idle in a transaction." durationLabel="Idle" testId="idle-in-transaction" />
          </div>
        )}
      </div>
    </HealthPanel>
  );
});

import { memo, useMemo } from 'react';
import type { LocksPanel as Locks } from '../../../shared/monitor';
import { formatDuration, sessionLabel } from '../format/health-format';
import { buildChains } from '../health/lock-tree';
import { lineColors } from '../health/palette';
import type { SeriesSet } from '../health/series-buffer';
import { levelOf, lockWaitThreshold } from '../health/thresholds';
import { zoomTo } from '../store/health-actions';
import { useHealthStore } from '../store/health-store';
import { BlockingChain } from './BlockingChain';
import { HealthPanel, type PanelError } from './HealthPanel';
import { StatChip } from './StatChip';
import { TimeChart, type ChartLine } from './TimeChart';

interface Props {
  profileId: string;
  engine?: string;
  locks?: Locks;
  error?: PanelError;
  series: SeriesSet;
  window: { from: number; to: number };
  points: number;
  /** The actions are offered only where the core would accept them. */
  canSignal: boolean;
}

const count = (v: number) => String(Math.round(v));

export const LocksPanel = memo(function LocksPanel({ profileId, engine, locks, error, series, window, points, canSignal }: Props) {
  const lines = useMemo<ChartLine[]>(() => [{ id: 'waiting', label: 'sessions waiting on a lock', color: lineColors.waiting, points: series['locks.waiting'] }], [series]);
  const chains = useMemo(() => (locks ? buildChains(locks) : []), [locks]);
  const names = useMemo(() => new Map(locks?.blockers.map((b) => [b.pid, sessionLabel(b, engine)])), [locks, engine]);
  const level = levelOf(locks?.waiting, lockWaitThreshold);
  const longest = locks?.waits.reduce((m, w) => Math.max(m, w.waitMs), 0) ?? 0;
  return (
    <HealthPanel
      name="locks"
      title="Locks"
      level={level}
      error={error}
      wide
      stats={
        locks && (
          <>
            <StatChip label="waiting" value={locks.waiting} level={level} testId="locks-waiting" />
            <StatChip label="blockers" value={locks.blockers.length} level={locks.blockers.length ? 'warn' : 'ok'} />
            {locks.waits.length > 0 && <StatChip label="longest wait" value={formatDuration(longest)} level={level} />}
          </>
        )
      }
    >
      <div className="panel-split">
        <TimeChart profileId={profileId} chartId="locks" lines={lines} window={window} points={points} threshold={lockWaitThreshold} formatValue={count} onZoom={zoomTo} />
        <div className="chains" data-testid="blocking-chains">
          <SignalNoticeLine profileId={profileId} />
          {locks && chains.length === 0 && <p className="all-clear">No session is waiting on a lock.</p>}
          {chains.map((chain) => (
            <BlockingChain key={chain.blocker.pid} profileId={profileId} engine={engine} names={names} chain={chain} canSignal={canSignal} />
          ))}
        </div>
      </div>
    </HealthPanel>
  );
});

function SignalNoticeLine({ profileId }: { profileId: string }) {
  const notice = useHealthStore((s) => s.signalNotices[profileId]);
  const clear = useHealthStore((s) => s.setSignalNotice);
  if (!notice) return null;
  return (
    <div className={`signal-notice ${notice.signalled ? 'ok' : 'warn'}`} role="status" data-testid="signal-notice">
      <span>{notice.message}</span>
      <button type="button" className="link-button" onClick={() => clear(profileId, undefined)}>
        Dismiss
      </button>
    </div>
  );
}

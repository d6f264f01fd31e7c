import { useEffect, useMemo } from 'react';
import type { PanelName } from '../../../shared/monitor';
import { useWatchOnly } from '../store/app-info-store';
import { acquireTarget, releaseTarget } from '../store/health-actions';
import { defaultChartPoints, useHealthStore, visibleWindow } from '../store/health-store';
import { useProfileSummary } from '../store/profiles-store';
import { ActivityPanel } from './ActivityPanel';
import { ErrorCallout } from './ErrorCallout';
import { HostPanel } from './HostPanel';
import { LocksPanel } from './LocksPanel';
import { PoolPanel } from './PoolPanel';
import { ReplicationPanel } from './ReplicationPanel';
import { StaleBanner } from './StaleBanner';
import { StatementsPanel } from './StatementsPanel';
import { StoragePanel } from './StoragePanel';
import { TargetHeader } from './TargetHeader';

interface Props {
  profileId: string;
  /** Set for a target added beside the selected profile. */
  onRemove?: () => void;
}

/** One monitored server: its header and its panels. Mounting it is what keeps it sampled. */
export function HealthTarget({ profileId, onRemove }: Props) {
  useEffect(() => {
    acquireTarget(profileId);
    return () => releaseTarget(profileId);
  }, [profileId]);

  const summary = useProfileSummary(profileId);
  const target = useHealthStore((s) => s.targets[profileId]);
  const spanMs = useHealthStore((s) => s.spanMs);
  const pausedAt = useHealthStore((s) => s.pausedAt);
  const zoom = useHealthStore((s) => s.zoom);
  const watchOnly = useWatchOnly();

  const frozen = pausedAt !== null || zoom !== null;
  const shown = frozen ? (target?.snapshot ?? target?.latest) : target?.latest;
  const { from, to } = visibleWindow({ spanMs, pausedAt, zoom }, target);
  // A stable object while the range is unchanged, so paused panels skip their renders.
  const window = useMemo(() => ({ from, to }), [from, to]);
  const errors = shown?.errors;
  const errorOf = useMemo(() => (panel: PanelName) => errors?.find((e) => e.panel === panel), [errors]);

  if (!summary) return null;
  const state = target?.state;
  const stale = state?.state === 'stale';
  const points = target?.points || defaultChartPoints;
  const series = target?.series;
  return (
    <div className={`health-target env-${summary.profile.environment}`} data-testid="health-target" data-profile-id={profileId} data-state={state?.state ?? 'starting'}>
      <TargetHeader summary={summary} target={target} onRemove={onRemove} />
      {target?.startError && <ErrorCallout error={target.startError} title="The health panels could not start" />}
      {stale && <StaleBanner state={state} />}
      {target?.seriesError && <ErrorCallout error={target.seriesError} title="The chart history could not be loaded" tone="notice" />}
      {!target?.startError && !shown && !stale && (
        <div className="health-waiting" role="status">
          <span className="spinner" aria-hidden="true" /> Opening the monitoring session and taking the first sample…
        </div>
      )}
      {shown && series && (
        <div className={`health-panels${stale ? ' stale' : ''}`}>
          <PoolPanel profileId={profileId} pool={shown.pool} pooler={shown.pooler} error={errorOf('pool')} series={series} window={window} points={points} />
          <ReplicationPanel profileId={profileId} replication={shown.replication} error={errorOf('replication')} series={series} window={window} points={points} />
          <LocksPanel profileId={profileId} engine={shown.engine} locks={shown.locks} error={errorOf('locks')} series={series} window={window} points={points} canSignal={!watchOnly} />
          <ActivityPanel profileId={profileId} activity={shown.activity} error={errorOf('activity')} series={series} window={window} points={points} />
          <StatementsPanel profileId={profileId} statements={shown.statements} error={errorOf('statements')} />
          <StoragePanel storage={shown.storage} engine={shown.engine} at={shown.time} />
          {shown.host && <HostPanel profileId={profileId} host={shown.host} series={series} window={window} points={points} />}
        </div>
      )}
    </div>
  );
}

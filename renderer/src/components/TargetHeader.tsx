import type { ProfileSummary } from '../../../shared/api';
import { formatClockTime } from '../format/health-format';
import { engineLabels, hostPort } from '../format/labels';
import { exportCsv } from '../store/health-actions';
import type { TargetView } from '../store/health-store';
import { EnvironmentTag } from './EnvironmentTag';

interface Props {
  summary: ProfileSummary;
  target?: TargetView;
  onRemove?: () => void;
}

const stateLabels = { starting: 'connecting', live: 'live', stale: 'stale', stopped: 'stopped' } as const;

/** Which server a column of panels watches, whether its sampling is healthy, and its actions. */
export function TargetHeader({ summary, target, onRemove }: Props) {
  const { profile } = summary;
  const state = target?.state?.state ?? 'starting';
  const latest = target?.latest;
  return (
    <header className="target-header">
      <div className="target-title">
        <h2>{profile.name}</h2>
        <EnvironmentTag environment={profile.environment} />
        <span className="muted mono target-address">
          {engineLabels[profile.engine]} · {hostPort(profile.host, profile.port)}
          {profile.database ? ` / ${profile.database}` : ''}
        </span>
      </div>
      <div className="target-status">
        <span className={`monitor-state monitor-${state}`} data-testid="monitor-state" data-state={state}>
          <span className="state-dot" aria-hidden="true" />
          {stateLabels[state]}
        </span>
        {latest && (
          <span className="muted small" title="When the newest sample was taken, and how long the sampling queries took">
            {formatClockTime(latest.time)} · {Math.round(latest.durationMs)} ms
          </span>
        )}
        <button type="button" className="button small" disabled={!target?.state} onClick={() => void exportCsv(profile.id)} title="The charted series of the visible time range, one row per sample">
          Export CSV
        </button>
        {onRemove && (
          <button type="button" className="button small ghost" onClick={onRemove} aria-label={`Remove ${profile.name} from the view`}>
            Remove
          </button>
        )}
      </div>
    </header>
  );
}

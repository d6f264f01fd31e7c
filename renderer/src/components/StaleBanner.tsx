import type { MonitorState } from '../../../shared/monitor';
import { formatClockTime } from '../format/health-format';

/** A target whose sampling fails: when it last worked and why it does not now. It clears by
 * itself when the core's next attempt succeeds. */
export function StaleBanner({ state }: { state: MonitorState }) {
  return (
    <div className="stale-banner" role="alert" data-testid="stale-banner">
      <div className="stale-title">
        stale — {state.lastGoodAt !== null ? `last good sample at ${formatClockTime(state.lastGoodAt)}` : 'no good sample yet'}
        <span className="muted"> · retrying by itself</span>
      </div>
      {state.lastError && (
        <>
          <div className="error-message">{state.lastError.message}</div>
          {state.lastError.hint && <div className="error-hint">{state.lastError.hint}</div>}
          <div className="error-code">{state.lastError.code}</div>
        </>
      )}
    </div>
  );
}

import { formatClockTime } from '../format/health-format';
import { pause, resetZoom, resume, sampleIntervalMs, setSpan } from '../store/health-actions';
import { rangePresets, useHealthStore } from '../store/health-store';
import { AddTargetPicker } from './AddTargetPicker';

/** Time range, pause and zoom for every chart of the view at once, so side-by-side targets line up. */
export function HealthToolbar({ selectedId, shownIds }: { selectedId: string; shownIds: string[] }) {
  const spanMs = useHealthStore((s) => s.spanMs);
  const pausedAt = useHealthStore((s) => s.pausedAt);
  const zoom = useHealthStore((s) => s.zoom);
  const frozen = pausedAt !== null || zoom !== null;
  return (
    <div className="health-toolbar" data-testid="health-toolbar">
      <div className="range-presets" role="group" aria-label="Time range">
        {rangePresets.map((p) => (
          <button
            key={p.ms}
            type="button"
            className={`segment${!zoom && spanMs === p.ms ? ' active' : ''}`}
            aria-pressed={!zoom && spanMs === p.ms}
            onClick={() => setSpan(p.ms)}
          >
            {p.label}
          </button>
        ))}
      </div>
      {frozen ? (
        <button type="button" className="button small primary" onClick={resume}>
          Resume live
        </button>
      ) : (
        <button type="button" className="button small" onClick={pause} title="Freeze the panels to read them; sampling goes on">
          Pause
        </button>
      )}
      <span className="follow-state" data-testid="follow-state">
        {zoom ? (
          <>
            zoomed to <span className="mono">{formatClockTime(zoom.from)} – {formatClockTime(zoom.to)}</span>
            <button type="button" className="link-button" onClick={resetZoom}>
              Reset zoom
            </button>
          </>
        ) : pausedAt !== null ? (
          <>
            <span className="pill warn">paused</span> at <span className="mono">{formatClockTime(pausedAt)}</span> · sampling continues
          </>
        ) : (
          <>
            <span className="live-dot" aria-hidden="true" /> live · a sample every {sampleIntervalMs / 1000} s · drag across a chart to zoom
          </>
        )}
      </span>
      <span className="toolbar-spacer" />
      <AddTargetPicker selectedId={selectedId} shownIds={shownIds} />
    </div>
  );
}

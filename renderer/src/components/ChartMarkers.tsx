import { useMemo } from 'react';
import type { MonitorEvent } from '../../../shared/monitor';
import { formatClockTime } from '../format/health-format';
import { useMarkersStore } from '../store/markers-store';
import { plotBox } from './ChartOverlay';

interface Props {
  width: number;
  height: number;
  window: { from: number; to: number };
}

const kindClass = (k: MonitorEvent['kind']) => (k.endsWith('failed') ? 'failed' : k.startsWith('rollback') ? 'rollback' : k === 'force' ? 'force' : k.endsWith('start') ? 'start' : 'end');
const shortLabel: Record<MonitorEvent['kind'], string> = {
  'migration-start': 'migration ▶',
  'migration-end': 'migration ✓',
  'migration-failed': 'migration ✗',
  'rollback-start': 'rollback ▶',
  'rollback-end': 'rollback ✓',
  'rollback-failed': 'rollback ✗',
  force: 'force',
};

/** The events of the visible time range as vertical lines across the plot, labelled at the top;
 * the full text (which database, what happened, when) is the line's tooltip. */
export function ChartMarkers({ width, height, window }: Props) {
  const markers = useMarkersStore((s) => s.markers);
  const box = plotBox(width);
  const plotHeight = height - box.axisHeight - box.top;
  const visible = useMemo(() => markers.filter((m) => m.at >= window.from && m.at <= window.to), [markers, window.from, window.to]);
  if (visible.length === 0) return null;
  // Events seconds apart land on the same pixels: each keeps its line, and only the newest of a
  // cluster is labelled (the others are in the tooltips).
  const xs = visible.map((m) => box.left + ((m.at - window.from) / (window.to - window.from)) * box.width);
  return (
    <div className="chart-markers" aria-hidden="true">
      {visible.map((m, i) => {
        const x = xs[i]!;
        const labelled = i === visible.length - 1 || xs[i + 1]! - x > 70;
        return (
          <div key={m.id} className={`chart-marker marker-${kindClass(m.kind)}`} style={{ left: x, top: box.top, height: plotHeight }} title={`${formatClockTime(m.at)} ${m.profileName}: ${m.label}`} data-marker-kind={m.kind}>
            {labelled && <span className={`chart-marker-label${x > width * 0.75 ? ' flip' : ''}`}>{shortLabel[m.kind]}</span>}
          </div>
        );
      })}
    </div>
  );
}

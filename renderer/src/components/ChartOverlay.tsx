import { useRef, useState, type PointerEvent } from 'react';
import { formatClockTime } from '../format/health-format';
import { nearest } from '../health/series-buffer';
import type { ChartLine } from './TimeChart';

const margin = { top: 8, right: 10, bottom: 0, left: 0 };
const yAxisWidth = 40;
const axisHeight = 18;

/** Where TimeChart draws the plot inside a chart of this width: the overlay and the markers map
 * pixels to time with the same numbers, so the axes, the margins and this function must agree. */
export function plotBox(width: number) {
  const left = margin.left + yAxisWidth;
  const right = Math.max(left + 1, width - margin.right);
  return { axisHeight, left, right, width: right - left, top: margin.top };
}

interface Props {
  width: number;
  height: number;
  window: { from: number; to: number };
  lines: ChartLine[];
  formatValue(v: number): string;
  onZoom(from: number, to: number): void;
}

/** Hover readout and drag-to-zoom, drawn over the chart without re-rendering it. */
export function ChartOverlay({ width, height, window, lines, formatValue, onZoom }: Props) {
  const box = plotBox(width);
  const [hoverX, setHoverX] = useState<number | null>(null);
  const [drag, setDrag] = useState<{ x0: number; x1: number } | null>(null);
  const el = useRef<HTMLDivElement>(null);
  const toX = (e: PointerEvent) => {
    const rect = el.current!.getBoundingClientRect();
    return Math.min(box.right, Math.max(box.left, e.clientX - rect.left));
  };
  const toTime = (x: number) => window.from + ((x - box.left) / box.width) * (window.to - window.from);

  const t = hoverX === null ? null : toTime(hoverX);
  // Within two pixel columns of the cursor, or it is not the value "at" that time.
  const tolerance = (2 * (window.to - window.from)) / box.width + 1500;
  const readings =
    t === null
      ? []
      : lines.map((l) => {
          const p = nearest(l.points, t);
          return { line: l, value: p && Math.abs(p[0] - t) <= tolerance ? p[1] : undefined };
        });
  const plotHeight = height - box.axisHeight - box.top;
  return (
    <div
      ref={el}
      className="chart-overlay"
      title="Drag across the chart to zoom to that time range"
      onPointerMove={(e) => {
        const x = toX(e);
        setHoverX(x);
        if (drag) setDrag({ ...drag, x1: x });
      }}
      onPointerLeave={() => {
        setHoverX(null);
        setDrag(null);
      }}
      onPointerDown={(e) => {
        if (e.button !== 0) return;
        e.currentTarget.setPointerCapture(e.pointerId);
        const x = toX(e);
        setDrag({ x0: x, x1: x });
      }}
      onPointerUp={(e) => {
        if (!drag) return;
        e.currentTarget.releasePointerCapture(e.pointerId);
        const x1 = toX(e);
        setDrag(null);
        if (Math.abs(x1 - drag.x0) >= 6) onZoom(toTime(Math.min(drag.x0, x1)), toTime(Math.max(drag.x0, x1)));
      }}
    >
      {drag && Math.abs(drag.x1 - drag.x0) > 1 && (
        <div className="chart-selection" style={{ left: Math.min(drag.x0, drag.x1), width: Math.abs(drag.x1 - drag.x0), top: box.top, height: plotHeight }} />
      )}
      {hoverX !== null && t !== null && (
        <>
          <div className="chart-cursor" style={{ left: hoverX, top: box.top, height: plotHeight }} />
          <div className={`chart-readout${hoverX > width * 0.6 ? ' flip' : ''}`} style={{ left: hoverX }}>
            <div className="chart-readout-time">{formatClockTime(t)}</div>
            {readings.map(({ line, value }) => (
              <div key={line.id} className="chart-readout-row">
                <span className="swatch" style={{ background: line.color }} aria-hidden="true" />
                <span className="chart-readout-label">{line.label}</span>
                <span className="chart-readout-value">{value === undefined ? '—' : formatValue(value)}</span>
              </div>
            ))}
          </div>
        </>
      )}
    </div>
  );
}

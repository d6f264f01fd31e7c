import { memo, useEffect, useMemo } from 'react';
import { timeTickFormatter } from '../format/health-format';
import { timeTicks } from '../health/axis-ticks';
import { bandInRange, yAxisTop } from '../health/chart-geometry';
import { linePath } from '../health/line-path';
import type { Point } from '../health/series-buffer';
import type { Threshold } from '../health/thresholds';
import { useElementWidth } from '../hooks/use-element-width';
import { reportChartWidth } from '../store/health-actions';
import { ChartMarkers } from './ChartMarkers';
import { ChartOverlay, plotBox } from './ChartOverlay';

export interface ChartLine {
  id: string;
  label: string;
  color: string;
  points: readonly Point[];
}

interface Props {
  profileId: string;
  chartId: string;
  lines: ChartLine[];
  window: { from: number; to: number };
  /** Points per chart width the history was fetched at; decides what counts as a gap. */
  points: number;
  threshold?: Threshold;
  /** The y axis reaches at least this high. */
  minTop?: number;
  /** Scale to the data instead of keeping the limit and threshold lines in view: for a pool at 2 %
   * of max_connections, a chart up to the limit would draw every line flat on the floor. The lines
   * come into view as the values approach them, and the headline number carries the percentage. */
  fitToData?: boolean;
  /** A dashed line with a label, e.g. the server's max_connections. */
  limit?: { y: number; label: string };
  formatValue(v: number): string;
  height?: number;
  onZoom(from: number, to: number): void;
}

const colors = { warn: '#e3a21a', critical: '#f0555a', grid: '#1e2834', axis: '#6b7a8c', limit: '#8796a8' };
const fontSize = 10;
/** Tick labels sit this far from the plot's left and bottom edges. */
const labelGap = 8;

function compact(v: number): string {
  if (Math.abs(v) >= 1_000_000) return `${+(v / 1_000_000).toFixed(1)}M`;
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

/** A time-series chart of one panel: lines, threshold bands, and drag-to-zoom. */
export function TimeChart(props: Props) {
  const [ref, width] = useElementWidth<HTMLDivElement>();
  const { profileId, chartId } = props;
  useEffect(() => {
    reportChartWidth(profileId, chartId, plotBox(width).width);
  }, [profileId, chartId, width]);
  useEffect(() => () => reportChartWidth(profileId, chartId, undefined), [profileId, chartId]);
  const height = props.height ?? 120;
  return (
    <div className="time-chart">
      <div className="time-chart-plot" ref={ref} data-testid={`chart-${chartId}`}>
        {width > 0 && (
          <>
            <ChartBody {...props} width={width} height={height} />
            <ChartMarkers width={width} height={height} window={props.window} />
            <ChartOverlay width={width} height={height} window={props.window} lines={props.lines} formatValue={props.formatValue} onZoom={props.onZoom} />
          </>
        )}
      </div>
      <ul className="chart-legend">
        {props.lines.map((l) => (
          <li key={l.id}>
            <span className="swatch" style={{ background: l.color }} aria-hidden="true" />
            {l.label}
          </li>
        ))}
        {props.threshold && (
          <li className="legend-threshold">
            <span className="swatch dashed warn" aria-hidden="true" />
            warn ≥ {props.formatValue(props.threshold.warn)}
            <span className="swatch dashed critical" aria-hidden="true" />
            critical ≥ {props.formatValue(props.threshold.critical)}
          </li>
        )}
      </ul>
    </div>
  );
}

type BodyProps = Props & { width: number };

/**
 * The chart itself, memoized: the hover line and drag selection re-render only the overlay.
 *
 * All of it (grid, axes, threshold bands and lines, series lines) is our own SVG rather than
 * recharts. On a live chart the time window moves with every sample, and recharts 3 answers a new
 * x domain by re-running its store's selectors and, in effects after the commit, re-registering
 * every reference line and area, which renders the charts twice more: three commits and 20-40 ms
 * per live sample with a day of history, against a 16 ms budget. Drawn here, a sample is one commit
 * of a few attribute updates plus the line paths (see health/line-path.ts), on the same plot box
 * the overlay and the markers use (plotBox).
 */
const ChartBody = memo(function ChartBody({ lines, window, points, threshold, minTop, fitToData, limit, width, height }: BodyProps & { height: number }) {
  const { from, to } = window;
  const span = to - from;
  // No sample for three columns' worth of time (or 5 s) is a hole, not a line to interpolate.
  const gapMs = Math.max(5000, (3 * span) / Math.max(points, 1));
  const formatTick = useMemo(() => timeTickFormatter(span), [span]);
  const box = plotBox(width);
  const plotHeight = Math.max(1, height - box.axisHeight - box.top);
  const bottom = box.top + plotHeight;
  const xTicks = useMemo(() => {
    // A label centred on a tick at the right edge would be cut in half by the chart's border.
    const last = to - (span * 26) / box.width;
    return timeTicks(from, to, Math.max(2, Math.floor(box.width / 85))).filter((t) => t <= last);
  }, [from, to, span, box.width]);
  const dataMax = useMemo(() => lines.reduce((m, l) => l.points.reduce((mm, p) => (p[1] > mm ? p[1] : mm), m), 0), [lines]);
  const top = yAxisTop(dataMax, { minTop, fitToData, limit, threshold });
  const yTicks = [0, top / 2, top];
  const paths = useMemo(
    () => lines.map((l) => linePath(l.points, { from, to, top, width: box.width, height: plotHeight, gapMs })),
    [lines, from, to, top, box.width, plotHeight, gapMs],
  );
  const x = (t: number) => box.left + ((t - from) / span) * box.width;
  const y = (v: number) => bottom - (v / top) * plotHeight;
  // A value line outside the y range is not drawn at all (on the plot's edge it would read as a
  // value there); a band is cut to the part of it inside the range.
  const inRange = (v: number) => v >= 0 && v <= top;
  const band = (lo: number, hi: number, fill: string, opacity: number) => {
    const b = bandInRange(lo, hi, top);
    return b && <rect x={box.left} y={y(b.hi)} width={box.width} height={y(b.lo) - y(b.hi)} fill={fill} fillOpacity={opacity} />;
  };
  const valueLine = (v: number, stroke: string, dash: string, opacity?: number) =>
    inRange(v) && <line x1={box.left} x2={box.right} y1={y(v)} y2={y(v)} stroke={stroke} strokeDasharray={dash} strokeOpacity={opacity} />;
  return (
    <svg className="time-chart-svg" width={width} height={height}>
      <g className="chart-grid" stroke={colors.grid}>
        {yTicks.map((v) => (
          <line key={v} x1={box.left} x2={box.right} y1={y(v)} y2={y(v)} />
        ))}
      </g>
      {threshold && band(threshold.warn, threshold.critical, colors.warn, 0.05)}
      {threshold && band(threshold.critical, top, colors.critical, 0.08)}
      {threshold && valueLine(threshold.warn, colors.warn, '4 3', 0.8)}
      {threshold && valueLine(threshold.critical, colors.critical, '4 3', 0.9)}
      {limit && inRange(limit.y) && (
        <>
          {valueLine(limit.y, colors.limit, '2 2')}
          <text x={box.left + 5} y={y(limit.y) + 5} dy="0.71em" fill={colors.limit} fontSize={fontSize}>
            {limit.label}
          </text>
        </>
      )}
      <line className="chart-x-axis" x1={box.left} x2={box.right} y1={bottom} y2={bottom} stroke={colors.grid} />
      <g className="chart-ticks chart-x-ticks" fill={colors.axis} fontSize={fontSize} textAnchor="middle">
        {xTicks.map((t) => (
          <text key={t} x={x(t)} y={bottom + labelGap} dy="0.71em">
            {formatTick(t)}
          </text>
        ))}
      </g>
      <g className="chart-ticks chart-y-ticks" fill={colors.axis} fontSize={fontSize} textAnchor="end">
        {yTicks.map((v) => (
          <text key={v} x={box.left - labelGap} y={y(v)} dy="0.355em">
            {compact(v)}
          </text>
        ))}
      </g>
      {/* The inner <svg> is the plot box, and an inner svg clips to its own viewport, so a line
          never draws over the axes or margins. */}
      <svg className="chart-lines" x={box.left} y={box.top} width={box.width} height={plotHeight}>
        {lines.map((l, i) => (
          <path key={l.id} d={paths[i]} fill="none" stroke={l.color} strokeWidth={1.5} strokeLinejoin="round" />
        ))}
      </svg>
    </svg>
  );
});

import { memo, useEffect, useMemo } from 'react';
import { CartesianGrid, LineChart, ReferenceArea, ReferenceLine, XAxis, YAxis } from 'recharts';
import { timeTickFormatter } from '../format/health-format';
import { niceCeil, timeTicks } from '../health/axis-ticks';
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
const tickStyle = { fill: colors.axis, fontSize: 10 };
// Module-level and memoized props below: recharts 3 pushes axis and reference settings into its
// store whenever a prop changes identity, and each push recomputes the chart's layout.
const xAxisLine = { stroke: colors.grid };
// Without any data recharts draws no x axis and no reference lines; one constant row is enough, as
// both domains are explicit (allowDataOverflow), and being constant it never makes recharts redo
// its data-derived work when a sample arrives.
type Row = readonly [time: number, value: number];
const placeholderData: Row[] = [[0, 0]];
const timeOf = (row: Row) => row[0];

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

/** The chart itself, memoized: the hover line and drag selection re-render only the overlay.
 * recharts draws only the grid, axes and reference lines and areas, from the explicit domains below
 * and no data; the series lines are our own paths (see health/line-path.ts), because recharts'
 * per-point work on a day of history cost several frames on every live sample. */
const ChartBody = memo(function ChartBody({ lines, window, points, threshold, minTop, fitToData, limit, width, height }: BodyProps & { height: number }) {
  const span = window.to - window.from;
  // No sample for three columns' worth of time (or 5 s) is a hole, not a line to interpolate.
  const gapMs = Math.max(5000, (3 * span) / Math.max(points, 1));
  const formatTick = useMemo(() => timeTickFormatter(span), [span]);
  const box = plotBox(width);
  const plotHeight = Math.max(1, height - box.axisHeight - box.top);
  const xTicks = useMemo(() => {
    // A label centred on a tick at the right edge would be cut in half by the chart's border.
    const last = window.to - ((window.to - window.from) * 26) / box.width;
    return timeTicks(window.from, window.to, Math.max(2, Math.floor(box.width / 85))).filter((t) => t <= last);
  }, [window.from, window.to, box.width]);
  const dataMax = useMemo(() => lines.reduce((m, l) => l.points.reduce((mm, p) => (p[1] > mm ? p[1] : mm), m), 0), [lines]);
  // Otherwise the y axis always shows the critical line, so "how close are we" reads at a glance.
  const top = fitToData
    ? niceCeil(Math.max(dataMax * 1.2, minTop ?? 0))
    : niceCeil(Math.max(dataMax, minTop ?? 0, limit ? limit.y : threshold ? threshold.critical * 1.1 : 0));
  const yDomain = useMemo(() => [0, top], [top]);
  const yTicks = useMemo(() => [0, top / 2, top], [top]);
  const xDomain = useMemo(() => [window.from, window.to], [window.from, window.to]);
  const limitLabel = useMemo(() => limit && { value: limit.label, position: 'insideTopLeft' as const, fill: colors.limit, fontSize: 10 }, [limit]);
  const paths = useMemo(
    () => lines.map((l) => linePath(l.points, { from: window.from, to: window.to, top, width: box.width, height: plotHeight, gapMs })),
    [lines, window.from, window.to, top, box.width, plotHeight, gapMs],
  );
  return (
    <>
      <LineChart data={placeholderData} width={width} height={height} margin={box.margin} accessibilityLayer={false}>
        <CartesianGrid stroke={colors.grid} vertical={false} />
        <XAxis
          dataKey={timeOf as (obj: unknown) => number}
          type="number"
          domain={xDomain}
          ticks={xTicks}
          interval={0}
          allowDataOverflow
          tickFormatter={formatTick}
          tick={tickStyle}
          tickLine={false}
          axisLine={xAxisLine}
          height={box.axisHeight}
        />
        <YAxis
          type="number"
          width={box.yAxisWidth}
          domain={yDomain}
          ticks={yTicks}
          allowDataOverflow
          tickFormatter={compact}
          tick={tickStyle}
          tickLine={false}
          axisLine={false}
        />
        {threshold && <ReferenceArea y1={threshold.warn} y2={threshold.critical} fill={colors.warn} fillOpacity={0.05} ifOverflow="hidden" />}
        {threshold && <ReferenceArea y1={threshold.critical} y2={top} fill={colors.critical} fillOpacity={0.08} ifOverflow="hidden" />}
        {threshold && <ReferenceLine y={threshold.warn} stroke={colors.warn} strokeDasharray="4 3" strokeOpacity={0.8} />}
        {threshold && <ReferenceLine y={threshold.critical} stroke={colors.critical} strokeDasharray="4 3" strokeOpacity={0.9} />}
        {limit && (
          <ReferenceLine
            y={limit.y}
            stroke={colors.limit}
            strokeDasharray="2 2"
            label={limitLabel}
          />
        )}
      </LineChart>
      {/* The inner <svg> is the plot box (same numbers as the axes above and the overlay), and an
          inner svg clips to its own viewport, so a line never draws over the axes or margins. */}
      <svg className="chart-lines" width={width} height={height} aria-hidden="true">
        <svg x={box.left} y={box.top} width={box.width} height={plotHeight}>
          {lines.map((l, i) => (
            <path key={l.id} d={paths[i]} fill="none" stroke={l.color} strokeWidth={1.5} strokeLinejoin="round" />
          ))}
        </svg>
      </svg>
    </>
  );
});

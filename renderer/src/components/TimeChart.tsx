import { memo, useEffect, useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceArea, ReferenceLine, XAxis, YAxis } from 'recharts';
import { timeTickFormatter } from '../format/health-format';
import { niceCeil, timeTicks } from '../health/axis-ticks';
import { withGaps, type Point } from '../health/series-buffer';
import type { Threshold } from '../health/thresholds';
import { useElementWidth } from '../hooks/use-element-width';
import { reportChartWidth } from '../store/health-actions';
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
type Row = [number, number | null];
// Module-level, so recharts sees the same accessors on every render.
const timeOf = (row: Row) => row[0];
const valueOf = (row: Row) => row[1];

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

/** The recharts part, memoized: the hover line and drag selection re-render only the overlay. */
const ChartBody = memo(function ChartBody({ lines, window, points, threshold, minTop, fitToData, limit, width, height }: BodyProps & { height: number }) {
  const span = window.to - window.from;
  // No sample for three columns' worth of time (or 5 s) is a hole, not a line to interpolate.
  const gapMs = Math.max(5000, (3 * span) / Math.max(points, 1));
  const data = useMemo(() => lines.map((l) => withGaps(l.points, gapMs)), [lines, gapMs]);
  const formatTick = useMemo(() => timeTickFormatter(span), [span]);
  const box = plotBox(width);
  const xTicks = useMemo(() => {
    // A label centred on a tick at the right edge would be cut in half by the chart's border.
    const last = window.to - ((window.to - window.from) * 26) / box.width;
    return timeTicks(window.from, window.to, Math.max(2, Math.floor(box.width / 85))).filter((t) => t <= last);
  }, [window.from, window.to, box.width]);
  const dataMax = useMemo(() => data.reduce((m, rows) => rows.reduce((mm, r) => (r[1] !== null && r[1] > mm ? r[1] : mm), m), 0), [data]);
  // Otherwise the y axis always shows the critical line, so "how close are we" reads at a glance.
  const top = fitToData
    ? niceCeil(Math.max(dataMax * 1.2, minTop ?? 0))
    : niceCeil(Math.max(dataMax, minTop ?? 0, limit ? limit.y : threshold ? threshold.critical * 1.1 : 0));
  const yTicks = [0, top / 2, top];
  return (
    <LineChart width={width} height={height} margin={box.margin} accessibilityLayer={false}>
      <CartesianGrid stroke={colors.grid} vertical={false} />
      <XAxis
        dataKey={timeOf as (obj: unknown) => number}
        type="number"
        domain={[window.from, window.to]}
        ticks={xTicks}
        interval={0}
        allowDataOverflow
        tickFormatter={formatTick}
        tick={tickStyle}
        tickLine={false}
        axisLine={{ stroke: colors.grid }}
        height={box.axisHeight}
      />
      <YAxis
        type="number"
        width={box.yAxisWidth}
        domain={[0, top]}
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
          label={{ value: limit.label, position: 'insideTopLeft', fill: colors.limit, fontSize: 10 }}
        />
      )}
      {lines.map((l, i) => (
        <Line
          key={l.id}
          data={data[i]}
          dataKey={valueOf as (obj: unknown) => number | null}
          name={l.label}
          stroke={l.color}
          strokeWidth={1.5}
          dot={false}
          activeDot={false}
          connectNulls={false}
          isAnimationActive={false}
          type="linear"
        />
      ))}
    </LineChart>
  );
});

import { memo, useMemo } from 'react';
import type { HostPanel as Host } from '../../../shared/monitor';
import { formatBytes, formatClockTime } from '../format/health-format';
import { lineColors } from '../health/palette';
import type { SeriesSet } from '../health/series-buffer';
import { hostCpuThreshold, hostDiskUsedThreshold, hostMemAvailableWarnPct, levelOf, memoryLevel, worst } from '../health/thresholds';
import { zoomTo } from '../store/health-actions';
import { HealthPanel } from './HealthPanel';
import { StatChip } from './StatChip';
import { TimeChart, type ChartLine } from './TimeChart';

interface Props {
  profileId: string;
  host: Host;
  series: SeriesSet;
  window: { from: number; to: number };
  points: number;
}

const pct = (v: number) => `${+v.toFixed(1)}%`;
const loadValue = (v: number) => v.toFixed(2);
const chartHeight = 90;
/** Percentages chart on 0–100 while they stay well below it. */
const pctTop = 100;

/** The SSH server's CPU, load, memory and data disk, read over the tunnel's SSH connection. */
export const HostPanel = memo(function HostPanel({ profileId, host: h, series, window, points }: Props) {
  const cpuLines = useMemo<ChartLine[]>(() => [{ id: 'cpu', label: 'CPU %', color: lineColors.cpu, points: series['host.cpuPct'] }], [series]);
  const loadLines = useMemo<ChartLine[]>(() => [{ id: 'load1', label: 'load (1 min)', color: lineColors.load, points: series['host.load1'] }], [series]);
  const memLines = useMemo<ChartLine[]>(() => [{ id: 'mem', label: 'memory used %', color: lineColors.memory, points: series['host.memUsedPct'] }], [series]);
  const diskLines = useMemo<ChartLine[]>(() => [{ id: 'disk', label: 'disk used %', color: lineColors.disk, points: series['host.diskUsedPct'] }], [series]);
  const cpusLimit = useMemo(() => (h.cpus ? { y: h.cpus, label: `${h.cpus} CPU${h.cpus === 1 ? '' : 's'}` } : undefined), [h.cpus]);
  const memLimit = useMemo(() => ({ y: 100 - hostMemAvailableWarnPct, label: `available < ${hostMemAvailableWarnPct}%` }), []);

  const cpuLevel = levelOf(h.cpu?.usedPct, hostCpuThreshold);
  const memLevel = memoryLevel(h.mem?.availableBytes, h.mem?.totalBytes);
  const diskLevel = levelOf(h.disk?.usedPct, hostDiskUsedThreshold);
  const hasFigures = h.readAt !== null;
  // A failed reading keeps the last figures on screen, greyed, with why beside them.
  const stale = !!h.error && hasFigures;
  const cpuTitle = h.cpu
    ? `user ${pct(h.cpu.userPct)} · system ${pct(h.cpu.systemPct)} · iowait ${pct(h.cpu.iowaitPct)} · steal ${pct(h.cpu.stealPct)}`
    : 'CPU use needs two readings; it shows from the second one on.';
  return (
    <HealthPanel
      name="host"
      title={`Host · ${h.host}`}
      level={worst(cpuLevel, memLevel, diskLevel)}
      wide
      stats={
        hasFigures && (
          <div className={`host-stats${stale ? ' stale' : ''}`}>
            <StatChip label="CPU" value={h.cpu ? pct(h.cpu.usedPct) : '—'} level={cpuLevel} title={cpuTitle} testId="host-cpu" />
            {h.cpu && h.cpu.iowaitPct >= 1 && <StatChip label="iowait" value={pct(h.cpu.iowaitPct)} />}
            {h.cpu && h.cpu.stealPct >= 1 && <StatChip label="steal" value={pct(h.cpu.stealPct)} />}
            <StatChip
              label={`load${h.cpus ? ` · ${h.cpus} CPU${h.cpus === 1 ? '' : 's'}` : ''}`}
              value={h.load1 !== null ? loadValue(h.load1) : '—'}
              title={`load average 1 / 5 / 15 min: ${[h.load1, h.load5, h.load15].map((x) => (x === null ? '—' : loadValue(x))).join(' / ')}`}
              testId="host-load"
            />
            {h.mem && (
              <StatChip
                label={`mem of ${formatBytes(h.mem.totalBytes)}`}
                value={pct(h.mem.usedPct)}
                level={memLevel}
                title={`${formatBytes(h.mem.availableBytes)} available of ${formatBytes(h.mem.totalBytes)}`}
                testId="host-mem"
              />
            )}
            {h.swap && h.swap.totalBytes > 0 && (
              <StatChip label="swap used" value={formatBytes(h.swap.usedBytes)} level={h.swap.usedBytes > 0 ? 'warn' : 'ok'} title={`of ${formatBytes(h.swap.totalBytes)} swap`} />
            )}
            {h.disk && (
              <StatChip
                label={`free · ${pct(h.disk.usedPct)} used`}
                value={formatBytes(h.disk.freeBytes)}
                level={diskLevel}
                title={`${formatBytes(h.disk.freeBytes)} free of ${formatBytes(h.disk.sizeBytes)} on ${h.disk.mountedOn} (${h.disk.filesystem})`}
                testId="host-disk"
              />
            )}
          </div>
        )
      }
    >
      {h.error && (
        <div className="panel-error" role="alert" data-testid="host-error">
          <span className="panel-error-message">{h.error.message}</span>
          {h.error.hint && <span className="panel-error-hint">{h.error.hint}</span>}
        </div>
      )}
      {!hasFigures && !h.error && <p className="host-note">Reading /proc and df on {h.host} over SSH…</p>}
      {hasFigures && (
        <div className={`host-charts${stale ? ' stale' : ''}`}>
          <div className="host-chart">
            <TimeChart profileId={profileId} chartId="host-cpu" lines={cpuLines} window={window} points={points} threshold={hostCpuThreshold} fitToData minTop={pctTop} height={chartHeight} formatValue={pct} onZoom={zoomTo} />
          </div>
          <div className="host-chart">
            <TimeChart profileId={profileId} chartId="host-load" lines={loadLines} window={window} points={points} fitToData minTop={h.cpus ?? 1} limit={cpusLimit} height={chartHeight} formatValue={loadValue} onZoom={zoomTo} />
          </div>
          <div className="host-chart">
            <TimeChart profileId={profileId} chartId="host-mem" lines={memLines} window={window} points={points} fitToData minTop={pctTop} limit={memLimit} height={chartHeight} formatValue={pct} onZoom={zoomTo} />
          </div>
          <div className="host-chart">
            <TimeChart profileId={profileId} chartId="host-disk" lines={diskLines} window={window} points={points} threshold={hostDiskUsedThreshold} fitToData minTop={pctTop} height={chartHeight} formatValue={pct} onZoom={zoomTo} />
          </div>
        </div>
      )}
      {h.disk && (
        <dl className="kv host-facts">
          <dt>Disk</dt>
          <dd data-testid="host-disk-path">
            {h.disk.dataDirectory ? 'data directory ' : ''}
            <code>{h.disk.path}</code> on <code>{h.disk.mountedOn}</code> ({h.disk.filesystem}): {formatBytes(h.disk.freeBytes)} free of {formatBytes(h.disk.sizeBytes)}
            {h.disk.note && <span className="host-note"> · {h.disk.note}</span>}
          </dd>
          <dt>Read</dt>
          <dd>
            {h.readAt !== null ? formatClockTime(h.readAt) : '—'} over SSH from /proc and df on {h.host}
          </dd>
        </dl>
      )}
    </HealthPanel>
  );
});

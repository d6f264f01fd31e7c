// What the health view asks of the core. Targets are reference-counted: the first view that needs
// one starts its sampling, and sampling stops a moment after the last view lets go of it (the
// moment covers a re-render or a quick tab switch, which would otherwise stop and restart the
// monitor session and cut a hole in the history).
import { seriesKeys, type MonitorState } from '../../../shared/monitor';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { chartedKeys, mergeFetched, type ChartedKey, type Point, type SeriesSet } from '../health/series-buffer';
import { api } from './core-api';
import { isFrozen, useHealthStore, visibleWindow, type SignalNotice } from './health-store';
import { useNoticeStore } from './notice-store';

/** The sampling interval the panels are drawn for: one point per second. */
export const sampleIntervalMs = 1000;
const stopGraceMs = 3000;
/** Chart widths are rounded up to this many pixels, so a resize by a few pixels refetches nothing. */
const widthStep = 50;

const holders = new Map<string, number>();
const stopTimers = new Map<string, ReturnType<typeof setTimeout>>();
const chartWidths = new Map<string, Map<string, number>>();
const generations = new Map<string, number>();
const reloadTimers = new Map<string, ReturnType<typeof setTimeout>>();

export function acquireTarget(profileId: string): void {
  const held = holders.get(profileId) ?? 0;
  holders.set(profileId, held + 1);
  const pendingStop = stopTimers.get(profileId);
  if (pendingStop) {
    clearTimeout(pendingStop);
    stopTimers.delete(profileId);
    return;
  }
  if (held === 0) {
    useHealthStore.getState().ensureTarget(profileId);
    void startTarget(profileId);
  }
}

export function releaseTarget(profileId: string): void {
  const held = (holders.get(profileId) ?? 1) - 1;
  if (held > 0) {
    holders.set(profileId, held);
    return;
  }
  holders.delete(profileId);
  stopTimers.set(
    profileId,
    setTimeout(() => {
      stopTimers.delete(profileId);
      void stopTarget(profileId);
    }, stopGraceMs),
  );
}

async function startTarget(profileId: string): Promise<void> {
  const store = useHealthStore.getState();
  try {
    const state = await api().monitor.start({ profileId, intervalMs: sampleIntervalMs });
    if (!holders.has(profileId) && !stopTimers.has(profileId)) return;
    store.patchTarget(profileId, { startError: undefined });
    store.applyState(state);
    // A target another view (or an earlier visit) already watches has a sample and history now.
    const latest = await api().monitor.latest({ profileId });
    if (latest) useHealthStore.getState().applySample(latest);
    if (useHealthStore.getState().targets[profileId]?.points) await loadSeries(profileId);
  } catch (e) {
    useHealthStore.getState().patchTarget(profileId, { startError: asFlightdeckError(e) });
  }
}

async function stopTarget(profileId: string): Promise<void> {
  if (holders.has(profileId)) return;
  chartWidths.delete(profileId);
  generations.delete(profileId);
  clearTimeout(reloadTimers.get(profileId));
  reloadTimers.delete(profileId);
  useHealthStore.getState().dropTarget(profileId);
  try {
    await api().monitor.stop({ profileId });
  } catch {
    // The core went away or never watched it: either way nothing samples this target any more.
  }
}

/** Fetches the charted history of the visible window, downsampled to the chart's width. */
export async function loadSeries(profileId: string): Promise<void> {
  const s = useHealthStore.getState();
  const target = s.targets[profileId];
  if (!target) return;
  const generation = (generations.get(profileId) ?? 0) + 1;
  generations.set(profileId, generation);
  const frozen = isFrozen(s);
  const window = visibleWindow(s, target);
  s.patchTarget(profileId, { loadingSeries: true });
  try {
    const result = await api().monitor.series({
      profileId,
      keys: [...chartedKeys],
      from: window.from,
      // Live: everything up to now, so the line reaches the newest sample.
      to: frozen ? window.to : undefined,
      points: target.points || 600,
    });
    if (generations.get(profileId) !== generation) return;
    const current = useHealthStore.getState().targets[profileId];
    if (!current) return;
    const series: SeriesSet = { ...current.series };
    for (const { key, points } of result) {
      if (!(chartedKeys as readonly string[]).includes(key)) continue;
      const fetched = points as Point[];
      const k = key as ChartedKey;
      // Live samples that arrived while the fetch was under way are newer than its last point.
      series[k] = frozen ? fetched : mergeFetched(fetched, current.series[k]);
    }
    useHealthStore.getState().patchTarget(profileId, { series, loadingSeries: false, seriesError: undefined });
  } catch (e) {
    if (generations.get(profileId) !== generation) return;
    useHealthStore.getState().patchTarget(profileId, { loadingSeries: false, seriesError: asFlightdeckError(e) });
  }
}

function reloadSoon(profileId: string): void {
  clearTimeout(reloadTimers.get(profileId));
  reloadTimers.set(
    profileId,
    setTimeout(() => {
      reloadTimers.delete(profileId);
      void loadSeries(profileId);
    }, 250),
  );
}

function reloadAll(): void {
  for (const id of Object.keys(useHealthStore.getState().targets)) void loadSeries(id);
}

/** Each chart says how wide it is; a target's history is fetched at its widest chart's width. */
export function reportChartWidth(profileId: string, chartId: string, width: number | undefined): void {
  let widths = chartWidths.get(profileId);
  if (!widths) chartWidths.set(profileId, (widths = new Map()));
  if (width && width > 0) widths.set(chartId, width);
  else widths.delete(chartId);
  const widest = Math.max(0, ...widths.values());
  if (!widest) return;
  const points = Math.max(100, Math.ceil(widest / widthStep) * widthStep);
  const target = useHealthStore.getState().targets[profileId];
  if (!target || target.points === points) return;
  useHealthStore.getState().patchTarget(profileId, { points });
  // Narrower charts thin their arrays as samples arrive; only a first or much wider chart refetches.
  if (target.points === 0 || points > target.points * 1.25) reloadSoon(profileId);
}

function snapshotAll(): void {
  const s = useHealthStore.getState();
  const targets = Object.fromEntries(Object.entries(s.targets).map(([id, t]) => [id, { ...t, snapshot: t.snapshot ?? t.latest }]));
  useHealthStore.setState({ targets });
}

export function setSpan(spanMs: number): void {
  useHealthStore.setState({ spanMs, zoom: null });
  reloadAll();
}

export function pause(): void {
  if (isFrozen(useHealthStore.getState())) return;
  snapshotAll();
  useHealthStore.setState({ pausedAt: Date.now() });
}

export function resume(): void {
  const s = useHealthStore.getState();
  const targets = Object.fromEntries(Object.entries(s.targets).map(([id, t]) => [id, { ...t, snapshot: undefined }]));
  useHealthStore.setState({ pausedAt: null, zoom: null, targets });
  // Samples that came while paused were not appended; the history has them.
  reloadAll();
}

export function zoomTo(from: number, to: number): void {
  if (to - from < 2000) return;
  snapshotAll();
  const s = useHealthStore.getState();
  useHealthStore.setState({ zoom: { from, to }, pausedAt: s.pausedAt ?? Date.now() });
  reloadAll();
}

export function resetZoom(): void {
  useHealthStore.setState({ zoom: null });
  reloadAll();
}

/** The visible range of one target's series at full resolution, saved through the browser. */
export async function exportCsv(profileId: string): Promise<void> {
  const s = useHealthStore.getState();
  const window = visibleWindow(s, s.targets[profileId]);
  try {
    const { filename, csv } = await api().monitor.exportCsv({ profileId, keys: [...seriesKeys], from: Math.floor(window.from), to: Math.ceil(window.to) });
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    // The download has its own copy once click() returns; the URL would only hold memory.
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) {
    useNoticeStore.getState().show(asFlightdeckError(e));
  }
}

/** Cancels a session's query or ends the session; the core checks a production confirmation. */
export async function signalBackend(profileId: string, session: { pid: number; sessionId?: string }, action: 'cancel' | 'terminate', confirm: string | undefined): Promise<SignalNotice> {
  const result = await api().monitor.signalBackend({ profileId, pid: session.pid, ...(session.sessionId ? { sessionId: session.sessionId } : {}), action, ...(confirm !== undefined ? { confirm } : {}) });
  const notice = { ...result, at: Date.now() };
  useHealthStore.getState().setSignalNotice(profileId, notice);
  return notice;
}

/** monitor/state events. Another window (or the CLI) stopping a target this view still shows
 * stops it for everyone; start it again rather than leave these panels frozen. */
export function onMonitorState(state: MonitorState): void {
  useHealthStore.getState().applyState(state);
  if (state.state === 'stopped' && holders.has(state.profileId)) void startTarget(state.profileId);
}

/** After the link to the core comes back: events sent while it was down are gone, and a core that
 * restarted has forgotten what it sampled for us. */
export function resyncTargets(): void {
  for (const id of holders.keys()) void startTarget(id);
}

/** A closed tab or window no longer needs its targets; tell the core while the socket is still up. */
export function releaseAllOnExit(): void {
  for (const id of holders.keys()) void api().monitor.stop({ profileId: id }).catch(() => undefined);
}

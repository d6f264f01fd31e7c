// The health view's state: which targets are shown, the time window the charts cover, and per
// target its monitor state, latest sample and chart history. A sample event is applied with a
// single set(), so one sample costs one render of the panels that show it and nothing else.
import { create } from 'zustand';
import type { MonitorState, Sample } from '../../../shared/monitor';
import type { FlightdeckError } from '../../../shared/errors';
import { appendPoint, chartedKeys, chartedValues, emptySeriesSet, type SeriesSet } from '../health/series-buffer';

export const rangePresets = [
  { label: '5 min', ms: 5 * 60_000 },
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 24 * 3_600_000 },
] as const;

/** Before any chart has measured itself: a typical chart's width. */
export const defaultChartPoints = 600;

export interface TargetView {
  profileId: string;
  state?: MonitorState;
  latest?: Sample;
  /** What the panels show while the view is paused or zoomed: the sample at that moment. */
  snapshot?: Sample;
  series: SeriesSet;
  /** Points the widest chart of this target draws (its width in pixels). */
  points: number;
  loadingSeries: boolean;
  /** monitor/start itself failed (unsupported engine, unknown profile). */
  startError?: FlightdeckError;
  seriesError?: FlightdeckError;
}

export interface SignalNotice {
  message: string;
  signalled: boolean;
  at: number;
}

export type WorkspaceMode = 'connection' | 'health' | 'migrations' | 'plan';

interface HealthStore {
  mode: WorkspaceMode;
  /** Targets shown beside the selected profile, per selected profile. */
  companions: Record<string, string[]>;
  spanMs: number;
  /** Set while paused: the charts end here instead of following the newest sample. */
  pausedAt: number | null;
  /** A range picked by dragging across a chart. */
  zoom: { from: number; to: number } | null;
  targets: Record<string, TargetView>;
  signalNotices: Record<string, SignalNotice>;

  setMode(mode: WorkspaceMode): void;
  addCompanion(selectedId: string, profileId: string): void;
  removeCompanion(selectedId: string, profileId: string): void;
  ensureTarget(profileId: string): void;
  dropTarget(profileId: string): void;
  patchTarget(profileId: string, patch: Partial<TargetView>): void;
  applySample(sample: Sample): void;
  applyState(state: MonitorState): void;
  setSignalNotice(profileId: string, notice: SignalNotice | undefined): void;
}

export function isFrozen(s: Pick<HealthStore, 'pausedAt' | 'zoom'>): boolean {
  return s.pausedAt !== null || s.zoom !== null;
}

/** The time range a target's charts show now. */
export function visibleWindow(s: Pick<HealthStore, 'pausedAt' | 'zoom' | 'spanMs'>, target: TargetView | undefined): { from: number; to: number } {
  if (s.zoom) return s.zoom;
  const end = s.pausedAt ?? target?.latest?.time ?? Date.now();
  return { from: end - s.spanMs, to: end };
}

export const useHealthStore = create<HealthStore>()((set) => ({
  mode: 'connection',
  companions: {},
  spanMs: rangePresets[0].ms,
  pausedAt: null,
  zoom: null,
  targets: {},
  signalNotices: {},

  setMode: (mode) => set({ mode }),
  addCompanion: (selectedId, profileId) =>
    set((s) => {
      const list = s.companions[selectedId] ?? [];
      if (profileId === selectedId || list.includes(profileId)) return {};
      return { companions: { ...s.companions, [selectedId]: [...list, profileId] } };
    }),
  removeCompanion: (selectedId, profileId) =>
    set((s) => ({ companions: { ...s.companions, [selectedId]: (s.companions[selectedId] ?? []).filter((id) => id !== profileId) } })),
  ensureTarget: (profileId) =>
    set((s) =>
      s.targets[profileId]
        ? {}
        : { targets: { ...s.targets, [profileId]: { profileId, series: emptySeriesSet(), points: 0, loadingSeries: false } } },
    ),
  dropTarget: (profileId) =>
    set((s) => {
      const { [profileId]: _gone, ...rest } = s.targets;
      return { targets: rest };
    }),
  patchTarget: (profileId, patch) =>
    set((s) => {
      const t = s.targets[profileId];
      return t ? { targets: { ...s.targets, [profileId]: { ...t, ...patch } } } : {};
    }),
  applySample: (sample) =>
    set((s) => {
      const t = s.targets[sample.profileId];
      if (!t) return {};
      if (t.latest && sample.time <= t.latest.time) return {};
      if (isFrozen(s)) {
        // Sampling goes on while paused; the panels keep showing the moment the user froze.
        return { targets: { ...s.targets, [t.profileId]: { ...t, latest: sample, snapshot: t.snapshot ?? sample } } };
      }
      const from = sample.time - s.spanMs;
      const maxPoints = 2 * (t.points || defaultChartPoints);
      const values = chartedValues(sample);
      const series = { ...t.series };
      for (const key of chartedKeys) {
        const v = values[key];
        if (v !== undefined) series[key] = appendPoint(series[key], [sample.time, v], from, maxPoints);
      }
      return { targets: { ...s.targets, [t.profileId]: { ...t, latest: sample, series } } };
    }),
  applyState: (state) =>
    set((s) => {
      const t = s.targets[state.profileId];
      return t ? { targets: { ...s.targets, [t.profileId]: { ...t, state } } } : {};
    }),
  setSignalNotice: (profileId, notice) =>
    set((s) => {
      const { [profileId]: _old, ...rest } = s.signalNotices;
      return { signalNotices: notice ? { ...rest, [profileId]: notice } : rest };
    }),
}));

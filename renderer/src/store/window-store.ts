// The migration window of each production profile as the Migrations view shows it: its settings
// (folder, staging profile, backup folder, PgBouncer profile, kept in localStorage per profile),
// the database's migration status, the last run, and the Phase 0 report as the core publishes it.
import { create } from 'zustand';
import type { Phase0Report } from '../../../shared/checks';
import type { FlightdeckError } from '../../../shared/errors';
import type { MigrationSetSummary, MigrationStatus, RunResult } from '../../../shared/migrations';
import type { DowntimeMode, MigrationRisk, PlanReport } from '../../../shared/plan';

export interface WindowSettings {
  migrationsDir: string;
  stagingId: string;
  backupDir: string;
  /** PgBouncer admin-console profile in front of production ('' for none). */
  pgbouncerId: string;
}

export interface WindowView {
  settings: WindowSettings;
  inspecting: boolean;
  inspected?: { set: MigrationSetSummary; status: MigrationStatus };
  inspectError?: FlightdeckError;
  phase0?: Phase0Report;
  phase0Running: boolean;
  phase0Error?: FlightdeckError;
  running?: 'up' | 'down' | 'force';
  lastRun?: RunResult;
  runError?: FlightdeckError;
  progress?: { fraction: number | null; label: string; rate?: string; etaMs?: number };
  plan?: PlanReport;
  planning: boolean;
  planError?: FlightdeckError;
  planOptions: { risk: MigrationRisk; downtime: DowntimeMode; trace: boolean };
  /** A file of the set shown at a finding's line. */
  viewing?: { file: string; line: number; text?: string; error?: FlightdeckError };
}

const storageKey = (profileId: string) => `flightdeck.window.${profileId}`;

function loadSettings(profileId: string): WindowSettings {
  try {
    const raw = localStorage.getItem(storageKey(profileId));
    if (raw) return { migrationsDir: '', stagingId: '', backupDir: '', pgbouncerId: '', ...(JSON.parse(raw) as Partial<WindowSettings>) };
  } catch {
    // Storage unavailable or damaged: start empty.
  }
  return { migrationsDir: '', stagingId: '', backupDir: '', pgbouncerId: '' };
}

function freshView(profileId: string): WindowView {
  return { settings: loadSettings(profileId), inspecting: false, phase0Running: false, planning: false, planOptions: { risk: 'medium', downtime: 'zero-downtime', trace: false } };
}

interface WindowStore {
  windows: Record<string, WindowView>;
  ensure(profileId: string): WindowView;
  patch(profileId: string, patch: Partial<WindowView>): void;
  setSettings(profileId: string, patch: Partial<WindowSettings>): void;
}

export const useWindowStore = create<WindowStore>()((set, get) => ({
  windows: {},
  ensure: (profileId) => {
    const existing = get().windows[profileId];
    if (existing) return existing;
    const fresh: WindowView = freshView(profileId);
    set((s) => ({ windows: { ...s.windows, [profileId]: fresh } }));
    return fresh;
  },
  patch: (profileId, patch) => set((s) => ({ windows: { ...s.windows, [profileId]: { ...(s.windows[profileId] ?? freshView(profileId)), ...patch } } })),
  setSettings: (profileId, patch) => {
    const current = get().ensure(profileId);
    const settings = { ...current.settings, ...patch };
    try {
      localStorage.setItem(storageKey(profileId), JSON.stringify(settings));
    } catch {
      // Not kept across reloads; the view still works.
    }
    get().patch(profileId, { settings });
  },
}));

import { create } from 'zustand';
import type { ConnectionState, ProfileSummary } from '../../../shared/api';
import type { FlightdeckError } from '../../../shared/errors';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { api } from './core-api';

interface ProfilesStore {
  summaries: ProfileSummary[];
  loaded: boolean;
  error?: FlightdeckError;
  refresh(): Promise<void>;
  /** Apply a connections/state event at once; the list refresh that follows confirms it. */
  applyConnectionState(state: ConnectionState): void;
}

// Overlapping refreshes (a burst of state events) must not let an older answer overwrite a newer.
let generation = 0;

export const useProfilesStore = create<ProfilesStore>()((set) => ({
  summaries: [],
  loaded: false,
  refresh: async () => {
    const mine = ++generation;
    try {
      const summaries = await api().profiles.list();
      if (mine === generation) set({ summaries, loaded: true, error: undefined });
    } catch (e) {
      if (mine === generation) set({ error: asFlightdeckError(e) });
    }
  },
  applyConnectionState: (state) =>
    set((s) => ({
      summaries: s.summaries.map((p) => (p.profile.id === state.profileId ? { ...p, connection: state } : p)),
    })),
}));

export function useProfileSummary(id: string | undefined): ProfileSummary | undefined {
  return useProfilesStore((s) => (id ? s.summaries.find((p) => p.profile.id === id) : undefined));
}

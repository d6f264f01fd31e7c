import { create } from 'zustand';
import type { AppInfo } from '../../../shared/api';
import type { FlightdeckError } from '../../../shared/errors';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { api } from './core-api';

interface AppInfoStore {
  info?: AppInfo;
  error?: FlightdeckError;
  load(): Promise<void>;
}

export const useAppInfoStore = create<AppInfoStore>()((set) => ({
  load: async () => {
    try {
      set({ info: await api().app.info(), error: undefined });
    } catch (e) {
      set({ error: asFlightdeckError(e) });
    }
  },
}));

/** Watch-only until app/info says otherwise: never offer a change the core may refuse. */
export function useWatchOnly(): boolean {
  return useAppInfoStore((s) => s.info?.watchOnly ?? true);
}

import { create } from 'zustand';
import type { SandboxState } from '../../../shared/api';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { api } from './core-api';

interface SandboxStore {
  sandbox?: SandboxState;
  load(): Promise<void>;
  set(sandbox: SandboxState): void;
}

export const useSandboxStore = create<SandboxStore>()((set) => ({
  load: async () => {
    try {
      set({ sandbox: await api().sandbox.state() });
    } catch (e) {
      const error = asFlightdeckError(e).toShape();
      set({ sandbox: { state: 'failed', profileIds: [], error } });
    }
  },
  set: (sandbox) => set({ sandbox }),
}));

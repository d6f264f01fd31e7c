// The events drawn on every health chart's time axis (migration start and end, rollbacks, forced
// versions): loaded once, then kept current from the core's monitor/marker events.
import { create } from 'zustand';
import type { MonitorEvent } from '../../../shared/monitor';
import { api } from './core-api';

interface MarkersStore {
  markers: MonitorEvent[];
  load(): Promise<void>;
  add(marker: MonitorEvent): void;
}

export const useMarkersStore = create<MarkersStore>()((set) => ({
  markers: [],
  load: async () => {
    try {
      const markers = await api().monitor.markers({});
      set({ markers });
    } catch {
      // The charts draw without markers; the next event brings them.
    }
  },
  add: (marker) => set((s) => (s.markers.some((m) => m.id === marker.id) ? {} : { markers: [...s.markers, marker] })),
}));

// Failures of actions that have no panel of their own (duplicate, delete, open, sandbox start).
import { create } from 'zustand';
import type { FlightdeckError } from '../../../shared/errors';

interface NoticeStore {
  error?: FlightdeckError;
  show(error: FlightdeckError): void;
  dismiss(): void;
}

export const useNoticeStore = create<NoticeStore>()((set) => ({
  show: (error) => set({ error }),
  dismiss: () => set({ error: undefined }),
}));

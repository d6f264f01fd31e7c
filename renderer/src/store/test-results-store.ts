import { create } from 'zustand';
import type { TestResult } from '../../../shared/api';
import type { FlightdeckError } from '../../../shared/errors';

export type TestRun =
  | { status: 'running'; startedAt: number }
  | { status: 'passed'; result: TestResult; at: number }
  | { status: 'failed'; error: FlightdeckError; at: number };

interface TestResultsStore {
  byProfile: Record<string, TestRun>;
  record(profileId: string, run: TestRun): void;
  forget(profileId: string): void;
}

export const useTestResultsStore = create<TestResultsStore>()((set) => ({
  byProfile: {},
  record: (profileId, run) => set((s) => ({ byProfile: { ...s.byProfile, [profileId]: run } })),
  forget: (profileId) =>
    set((s) => {
      const { [profileId]: _gone, ...rest } = s.byProfile;
      return { byProfile: rest };
    }),
}));

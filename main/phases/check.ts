// What a check is to the code that runs a phase: an id, a title, a severity, and a function that
// looks at the real systems and says what it found, with evidence.
import type { CheckResult, Evidence, Severity } from '../../shared/checks';

export interface CheckOutcome {
  status: 'pass' | 'fail' | 'skipped' | 'pending';
  summary: string;
  hint?: string;
  evidence?: Partial<Evidence>;
  attested?: CheckResult['attested'];
}

export interface CheckDef<Ctx> {
  id: string;
  phase: number;
  title: string;
  severity: Severity;
  run(ctx: Ctx, progress: (message: string) => void): Promise<CheckOutcome>;
}

export function evidence(e: Partial<Evidence> = {}): Evidence {
  return { facts: e.facts ?? [], tables: e.tables ?? [], files: e.files ?? [], ...(e.text !== undefined ? { text: e.text } : {}) };
}

/** Bytes as a DBA reads them: 1.2 GB, 340 MB, 12 kB. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = s / 60;
  if (m < 120) return `${m.toFixed(1)} min`;
  return `${(m / 60).toFixed(1)} h`;
}

// MongoDB's statements panel from the `top` command: per collection and operation kind (queries,
// getmore, insert, update, remove, commands), the count and the microseconds spent since the
// server started. The panel charts the differences between two readings, never resetting anything.
// MongoDB keeps no per-query-shape statistics outside $queryStats (Atlas only), so a row here is a
// collection and an operation kind, and the panel says so.
import type { StatementsPanel } from '../../shared/monitor';
import { CounterTracker, perSecond, type CounterRow } from './counter-rates';

export type TopTotals = Record<string, Record<string, { time?: number; count?: number } | undefined> | string>;

const kinds = ['queries', 'getmore', 'insert', 'update', 'remove', 'commands'] as const;
const kindNames: Record<(typeof kinds)[number], string> = { queries: 'find', getmore: 'getMore', insert: 'insert', update: 'update', remove: 'delete', commands: 'commands' };
/** Namespaces of MongoDB's own bookkeeping, not the application's. */
const systemDb = /^(admin|local|config)\./;

export const topNote = 'MongoDB counts time per collection and operation kind (the top command), not per query: each row is one collection and kind.';

export class TopDeltas {
  private readonly tracker = new CounterTracker();

  /** The panel from one `top` reading taken at `at`. */
  panel(at: number, totals: TopTotals, limit: number): StatementsPanel {
    const rows: CounterRow[] = [];
    for (const [ns, t] of Object.entries(totals)) {
      if (typeof t !== 'object' || t === null || systemDb.test(ns) || ns.includes('.system.')) continue;
      for (const kind of kinds) {
        const c = t[kind];
        if (!c) continue;
        rows.push({ key: `${ns}\u0000${kind}`, values: [Number(c.count ?? 0), Number(c.time ?? 0)] });
      }
    }
    const interval = this.tracker.update(at, rows);
    const top: StatementsPanel['top'] = [];
    if (interval) {
      for (const [key, [calls = 0, micros = 0]] of interval.deltas) {
        if (calls === 0 && micros === 0) continue;
        const [ns, kind] = key.split('\u0000') as [string, (typeof kinds)[number]];
        const totalMs = micros / 1000;
        top.push({
          id: `${ns} ${kind}`,
          query: `${kindNames[kind]} on ${ns}`,
          callsPerSec: perSecond(calls, interval.elapsedMs),
          totalMsPerSec: perSecond(totalMs, interval.elapsedMs),
          meanMs: calls > 0 ? totalMs / calls : null,
          rowsPerSec: null,
          baselineMeanMs: null,
        });
      }
      top.sort((a, b) => b.totalMsPerSec - a.totalMsPerSec || b.callsPerSec - a.callsPerSec);
    }
    return { available: true, note: topNote, top: top.slice(0, limit), tracked: rows.length, readAt: at, intervalMs: interval?.elapsedMs ?? null };
  }

  reset(): void {
    this.tracker.clear();
  }
}

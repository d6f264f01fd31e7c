// The statements panel for MySQL/MariaDB: per-interval differences of
// performance_schema.events_statements_summary_by_digest, keyed by (SCHEMA_NAME, DIGEST). The
// table is never truncated (other tools and the DBA read it too); its counters only grow, so two
// readings give what ran in between.
//
// Reading the table costs the server about a microsecond per row whatever is selected (it renders
// every row, digest text included), and a production server tracks thousands of digests. Two
// measures keep that within budget: later readings fetch only the rows whose LAST_SEEN moved since
// the previous one (a handful on a quiet second instead of thousands to send and parse), and the
// table is read less often than every sample when a reading costs more than the budget allows, the
// sample repeating the last reading meanwhile (its readAt says how old it is). The full reading is
// repeated now and then to notice digests that disappeared (TRUNCATE by someone else).
import type { StatementsPanel } from '../../shared/monitor';
import { PanelProblem } from './mysql-panel-errors';
import type { PerfSchemaSetup, Queryable } from './mysql-server';
import { queryTextMax } from './mysql-sessions';

const table = 'performance_schema.events_statements_summary_by_digest';
const fullReadEvery = 60;
const textCacheMax = 2000;
/** Server time the statements panel may spend per second of wall time (as the PostgreSQL sampler). */
const budgetMsPerSec = 3;
/** However expensive, the table is read at least this often, or the panel would be useless. */
const maxGapMs = 30_000;

interface Counters {
  calls: number;
  /** SUM_TIMER_WAIT is in picoseconds: 2^53 ps is only 2.5 hours of server time, so BigInt. */
  timerPs: bigint;
  rows: number;
}

interface Delta {
  key: string;
  schema: string | null;
  digest: string | null;
  calls: number;
  timerPs: bigint;
  rows: number;
}

export interface DigestOptions {
  topStatements: number;
  baseline?: ReadonlyMap<string, number>;
}

/** The statement id the panel and baselines use: a digest is per schema in MySQL's statistics. */
export function statementId(schema: string | null, digest: string | null): string {
  return `${schema ?? ''}:${digest ?? 'other'}`;
}

function unavailable(hint: string): StatementsPanel {
  return { available: false, hint, top: [], tracked: 0 };
}

export class DigestDeltas {
  private counters = new Map<string, Counters>();
  /** The previous reading: when it finished (monotonic) and the server's time just before it. */
  private previous: { at: number; serverNow: string } | undefined;
  private readsSinceFull = 0;
  private texts = new Map<string, string>();
  private last: { panel: StatementsPanel; readAt: number } | { error: unknown; readAt: number } | undefined;
  /** Smoothed server cost of one reading, which sets how often the table is read. */
  private costMs = 0;

  async read(session: Queryable, setup: PerfSchemaSetup | PanelProblem, opts: DigestOptions): Promise<StatementsPanel> {
    // Availability is judged every sample (the setup is read every sample anyway), so a DBA who
    // follows the hint sees the panel come back at the next sample.
    if (setup instanceof PanelProblem) {
      this.reset();
      return unavailable(setup.hint ?? setup.message);
    }
    const off = ['global_instrumentation', 'statements_digest'].filter((c) => setup.consumers.get(c) !== true);
    if (off.length > 0) {
      // The counters freeze while the consumer is off; after it comes back the first reading
      // starts a new baseline rather than charting the gap as one burst.
      this.reset();
      const where = off.length === 1 ? `NAME='${off[0]}'` : `NAME IN (${off.map((c) => `'${c}'`).join(', ')})`;
      return unavailable(
        `Statement digests are not being collected (consumer ${off.join(' and ')} off): run UPDATE performance_schema.setup_consumers SET ENABLED='YES' WHERE ${where}; ` +
          `and add ${off.map((c) => `performance_schema_consumer_${c}=ON`).join(' and ')} to my.cnf to keep it after a restart.`,
      );
    }
    const now = Date.now();
    const last = this.last;
    if (last && now - last.readAt < Math.min(maxGapMs, (this.costMs * 1000) / budgetMsPerSec)) {
      if ('error' in last) throw last.error;
      return last.panel;
    }
    const started = performance.now();
    try {
      const panel = await this.readCounters(session, opts);
      this.last = { panel, readAt: panel.readAt ?? now };
      return panel;
    } catch (e) {
      // A reading that fails (a statement time-out on an overloaded server) is not retried every
      // second: it waits as long as a reading of that cost would, and the panel keeps the error.
      this.counters.clear();
      this.previous = undefined;
      this.costMs = Math.max(this.costMs, performance.now() - started);
      this.last = { error: e, readAt: now };
      throw e;
    }
  }

  private async readCounters(session: Queryable, opts: DigestOptions): Promise<StatementsPanel> {
    // The server's clock just before the reading bounds from below the LAST_SEEN of every row that
    // changes after it; this round trip also stands for the network's share of the reading's time.
    let t = performance.now();
    const clock = await session.query('SELECT NOW(6) AS now');
    const roundTripMs = performance.now() - t;
    const serverNow = String(clock[0]?.now ?? '');

    const previous = this.previous;
    const since = previous && this.readsSinceFull < fullReadEvery ? previous.serverNow : undefined;
    const readAt = Date.now();
    t = performance.now();
    const rows = await session.query(
      `SELECT SCHEMA_NAME AS s, DIGEST AS d, COUNT_STAR AS c, SUM_TIMER_WAIT AS t, SUM_ROWS_SENT + SUM_ROWS_AFFECTED AS r FROM ${table}` +
        // Two seconds of slack: LAST_SEEN has whole seconds on MariaDB.
        (since === undefined ? '' : ' WHERE LAST_SEEN >= CAST(? AS DATETIME(6)) - INTERVAL 2 SECOND'),
      since === undefined ? [] : [since],
    );
    const at = performance.now();
    let costMs = Math.max(0, at - t - roundTripMs);
    const full = since === undefined;
    this.readsSinceFull = full ? 0 : this.readsSinceFull + 1;

    const deltas: Delta[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const schema = r.s === null || r.s === undefined ? null : String(r.s);
      const digest = r.d === null || r.d === undefined ? null : String(r.d);
      const key = statementId(schema, digest);
      seen.add(key);
      const current: Counters = { calls: Number(r.c ?? 0), timerPs: BigInt(String(r.t ?? '0')), rows: Number(r.r ?? 0) };
      const before = this.counters.get(key);
      this.counters.set(key, current);
      if (!previous) continue;
      // A digest we never saw is new since the previous reading (every reading after the first
      // sees every row that changed); one whose count went down was truncated and started over.
      const base = before && current.calls >= before.calls ? before : { calls: 0, timerPs: 0n, rows: 0 };
      const d: Delta = { key, schema, digest, calls: current.calls - base.calls, timerPs: current.timerPs - base.timerPs, rows: current.rows - base.rows };
      if (d.calls > 0 || d.timerPs > 0n) deltas.push(d);
    }
    if (full) for (const key of this.counters.keys()) if (!seen.has(key)) this.counters.delete(key);
    this.previous = { at, serverNow };

    // The row without a digest is an overflow bucket, not a statement.
    let tracked = 0;
    for (const key of this.counters.keys()) if (!key.endsWith(':other')) tracked++;
    const intervalMs = previous ? at - previous.at : null;
    let top: StatementsPanel['top'] = [];
    if (intervalMs !== null && intervalMs > 0) {
      const seconds = intervalMs / 1000;
      deltas.sort((a, b) => (a.timerPs === b.timerPs ? b.calls - a.calls : a.timerPs > b.timerPs ? -1 : 1));
      const chosen = deltas.slice(0, Math.max(0, opts.topStatements));
      t = performance.now();
      if (await this.fetchTexts(session, chosen)) costMs += Math.max(0, performance.now() - t - roundTripMs);
      top = chosen.map((d) => {
        const ms = Number(d.timerPs) / 1e9;
        return {
          id: d.key,
          query: this.texts.get(d.key) ?? '',
          callsPerSec: d.calls / seconds,
          totalMsPerSec: ms / seconds,
          meanMs: d.calls > 0 ? ms / d.calls : null,
          rowsPerSec: d.rows / seconds,
          baselineMeanMs: opts.baseline?.get(d.key) ?? null,
        };
      });
    }
    // Smoothed, so one slow reading (a busy moment) does not stall the panel. A full reading sends
    // every row and happens once a minute at most: it would overstate what the next ones cost.
    if (!full) this.costMs = this.costMs === 0 ? costMs : (this.costMs + costMs) / 2;
    return { available: true, top, tracked, readAt, intervalMs };
  }

  /** Digest texts are fetched once per statement that reaches the top list, then kept. Says
   * whether it had to ask the server. */
  private async fetchTexts(session: Queryable, top: readonly Delta[]): Promise<boolean> {
    const missing = top.filter((d) => !this.texts.has(d.key));
    for (const d of missing) {
      // The row without a digest sums every statement that found the digest table full.
      if (d.digest === null) this.remember(d.key, '(statements not tracked individually: the digest table is full; raise performance_schema_digests_size)');
    }
    const digests = [...new Set(missing.filter((d) => d.digest !== null).map((d) => d.digest as string))];
    if (digests.length === 0) return false;
    const rows = await session.query(`SELECT SCHEMA_NAME AS s, DIGEST AS d, LEFT(DIGEST_TEXT, ${queryTextMax}) AS q FROM ${table} WHERE DIGEST IN (${digests.map(() => '?').join(',')})`, digests);
    for (const r of rows) {
      this.remember(statementId(r.s === null || r.s === undefined ? null : String(r.s), String(r.d)), String(r.q ?? ''));
    }
    return true;
  }

  private remember(key: string, text: string): void {
    this.texts.set(key, text);
    // Oldest first: Map iterates in insertion order.
    while (this.texts.size > textCacheMax) this.texts.delete(this.texts.keys().next().value as string);
  }

  reset(): void {
    this.counters.clear();
    this.previous = undefined;
    this.readsSinceFull = 0;
    this.last = undefined;
    this.costMs = 0;
  }
}

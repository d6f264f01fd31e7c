// How long each migration's heavy statements will hold their locks on production: for every table a
// statement rewrites, scans, indexes or updates in full, its size and row count from production's
// statistics, a time from WORKFLOW.md's guideline table, and the foreign keys (and cascades) around
// it. Metadata-only statements finish as soon as their lock is granted.
import type { MigrationEstimate, PlanReport, StatementAnalysis } from '../../shared/plan';
import type { SqlSession } from '../connections/adapter';

export interface TableStats {
  table: string;
  rows: number;
  bytes: number;
  /** "orders.customer_id → customers (ON DELETE CASCADE)" */
  foreignKeys: string[];
}

/** WORKFLOW.md, "Migration Timing Guidelines". */
export function guideline(rows: number): { time: string; window: string } {
  if (rows < 1_000_000) return { time: 'under 1 minute', window: 'any time' };
  if (rows < 10_000_000) return { time: '1–10 minutes', window: 'a low-traffic period' };
  if (rows < 100_000_000) return { time: '10–60 minutes', window: 'a maintenance window' };
  return { time: 'over 1 hour', window: 'a dedicated maintenance window' };
}

const clean = (n: string) => n.replace(/"/g, '');

/** Row estimates, total size (table, indexes, TOAST) and foreign keys of the named tables. */
export async function readTableStats(session: SqlSession, tables: string[]): Promise<Map<string, TableStats>> {
  const out = new Map<string, TableStats>();
  if (tables.length === 0) return out;
  const rows = await session.query<{ name: string; rows: string; bytes: string; fks: string[] | null }>(
    `select t.name, greatest(c.reltuples, 0)::bigint as rows, pg_total_relation_size(c.oid) as bytes,
            (select array_agg(conrelid::regclass::text || '(' || pg_get_constraintdef(k.oid) || ')' order by conname)
               from pg_constraint k where k.contype = 'f' and (k.conrelid = c.oid or k.confrelid = c.oid)) as fks
       from unnest($1::text[]) as t(name)
       join pg_class c on c.oid = to_regclass(t.name)`,
    [tables.map((t) => (t.includes('.') ? t : t))],
  );
  for (const r of rows) out.set(clean(r.name), { table: clean(r.name), rows: Number(r.rows), bytes: Number(r.bytes), foreignKeys: r.fks ?? [] });
  return out;
}

/** What makes a statement take time in proportion to a table, if anything. */
function heavyWork(s: StatementAnalysis): { table: string; operation: string }[] {
  const out: { table: string; operation: string }[] = [];
  for (const t of s.rewrites) out.push({ table: t, operation: 'rewrites every row' });
  for (const t of s.scans) out.push({ table: t, operation: /INDEX/.test(s.command) ? 'builds an index (reads every row)' : 'reads every row' });
  if (/^(UPDATE|DELETE)$/.test(s.command) && s.notes.some((n) => /without WHERE/.test(n))) out.push({ table: s.locks[0]?.table ?? '?', operation: 'changes every row' });
  return out;
}

export function tablesTouched(report: PlanReport): string[] {
  const set = new Set<string>();
  for (const m of report.migrations) for (const s of m.up?.statements ?? []) for (const l of s.locks) if (!l.table.endsWith('(index)')) set.add(clean(l.table));
  return [...set];
}

export function estimateMigrations(report: PlanReport, stats: Map<string, TableStats>): PlanReport {
  const migrations = report.migrations.map((m) => {
    const estimates: MigrationEstimate[] = [];
    for (const s of m.up?.statements ?? []) {
      const heavy = heavyWork(s);
      for (const h of heavy) {
        const st = stats.get(clean(h.table));
        if (!st) {
          estimates.push({ line: s.line, table: h.table, operation: h.operation, rows: null, bytes: null, time: 'unknown: the table is not in production yet (created by the set) or not visible', window: 'any time', foreignKeys: [] });
          continue;
        }
        const g = guideline(st.rows);
        estimates.push({ line: s.line, table: st.table, operation: h.operation, rows: st.rows, bytes: st.bytes, time: g.time, window: g.window, foreignKeys: st.foreignKeys });
      }
      if (heavy.length === 0 && s.locks.some((l) => l.lock === 'AccessExclusiveLock')) {
        const t = clean(s.locks.find((l) => l.lock === 'AccessExclusiveLock')!.table);
        const st = stats.get(t);
        estimates.push({ line: s.line, table: t, operation: 'changes the catalog only', rows: st?.rows ?? null, bytes: st?.bytes ?? null, time: 'instant once ACCESS EXCLUSIVE is granted (the wait for it is the risk)', window: 'any time, with a short lock_timeout', foreignKeys: st?.foreignKeys ?? [] });
      }
    }
    return { ...m, estimates };
  });
  return { ...report, migrations, estimated: true };
}

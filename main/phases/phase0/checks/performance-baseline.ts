// Phase 0, performance baseline: the top 20 statements by total time and the 20 largest tables,
// saved to a file so Phase 4 can compare after the migration. Without pg_stat_statements (or
// performance_schema) there is no statement baseline: a medium failure, acceptable with a reason.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SqlSession } from '../../../connections/adapter';
import { writeFileAtomic } from '../../../platform/atomic-file';
import { formatBytes, type CheckDef } from '../../check';
import type { Phase0Context } from '../context';

interface StatementRow { id: string; calls: number; totalMs: number; meanMs: number; rows: number; query: string }
interface TableRow { name: string; totalBytes: number; rows: number }

async function statements(s: SqlSession): Promise<{ rows: StatementRow[] } | { missing: string }> {
  if (s.engine === 'postgres') {
    const ext = await s.query<{ schema: string }>("select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_stat_statements'");
    if (!ext.length) return { missing: 'pg_stat_statements is not installed in this database: add it to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements.' };
    const q = `${'"' + ext[0]!.schema.replace(/"/g, '""') + '"'}.pg_stat_statements`;
    const r = await s.query<{ id: string; calls: string; total: number; mean: number; rows: string; query: string }>(
      `select queryid::text as id, calls, total_exec_time as total, mean_exec_time as mean, rows, left(query, 500) as query
         from ${q} where dbid = (select oid from pg_database where datname = current_database()) order by total_exec_time desc limit 20`,
    );
    return { rows: r.map((x) => ({ id: x.id, calls: Number(x.calls), totalMs: Number(x.total), meanMs: Number(x.mean), rows: Number(x.rows), query: x.query })) };
  }
  const on = await s.query<{ v: number }>('SELECT @@performance_schema AS v');
  if (!Number(on[0]?.v)) return { missing: 'performance_schema is OFF: set performance_schema=ON in the server configuration and restart.' };
  const r = await s.query<{ id: string; calls: string; total: string; mean: string; rows: string; query: string }>(
    `SELECT DIGEST AS id, COUNT_STAR AS calls, SUM_TIMER_WAIT / 1e9 AS total, AVG_TIMER_WAIT / 1e9 AS mean, SUM_ROWS_SENT AS \`rows\`, LEFT(DIGEST_TEXT, 500) AS query
       FROM performance_schema.events_statements_summary_by_digest WHERE SCHEMA_NAME = DATABASE() ORDER BY SUM_TIMER_WAIT DESC LIMIT 20`,
  );
  return { rows: r.map((x) => ({ id: x.id, calls: Number(x.calls), totalMs: Number(x.total), meanMs: Number(x.mean), rows: Number(x.rows), query: x.query ?? '' })) };
}

async function tables(s: SqlSession): Promise<TableRow[]> {
  const r =
    s.engine === 'postgres'
      ? await s.query<{ name: string; bytes: string; n: string }>(
          `select n.nspname || '.' || c.relname as name, pg_total_relation_size(c.oid) as bytes, c.reltuples::bigint as n
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r','p','m') and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg\\_toast%'
            order by pg_total_relation_size(c.oid) desc limit 20`,
        )
      : await s.query<{ name: string; bytes: string; n: string }>(
          "SELECT TABLE_NAME AS name, DATA_LENGTH + INDEX_LENGTH AS bytes, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY DATA_LENGTH + INDEX_LENGTH DESC LIMIT 20",
        );
  return r.map((x) => ({ name: x.name, totalBytes: Number(x.bytes), rows: Math.max(0, Number(x.n)) }));
}

export const performanceBaseline: CheckDef<Phase0Context> = {
  id: 'performance-baseline',
  phase: 0,
  title: 'Performance baseline captured',
  severity: 'medium',
  async run(ctx) {
    const s = ctx.production.session as SqlSession;
    // No privilege to read the statistics is the same outcome as no statistics: no statement baseline.
    const st = await statements(s).catch((e: Error) => ({
      missing: `the statement statistics cannot be read (${e.message}). ${s.engine === 'postgres' ? 'Grant pg_read_all_stats to the user.' : 'GRANT SELECT ON performance_schema.* to the user.'}`,
    }));
    const tb = await tables(s);
    const capturedAt = new Date().toISOString();
    await fs.mkdir(ctx.settings.baselineDir, { recursive: true, mode: 0o700 });
    const file = path.join(ctx.settings.baselineDir, `baseline-${ctx.production.profile.database || 'db'}-${capturedAt.replace(/[-:]/g, '').replace(/\..*/, '')}.json`);
    await writeFileAtomic(file, `${JSON.stringify({ capturedAt, engine: s.engine, target: ctx.production.route.address, database: ctx.production.profile.database, statements: 'rows' in st ? st.rows : null, statementsMissing: 'missing' in st ? st.missing : null, tables: tb }, null, 2)}\n`);
    const tableRows = tb.map((t) => [t.name, formatBytes(t.totalBytes), String(t.rows)]);
    const evidence = {
      files: [file],
      tables: [
        ...('rows' in st ? [{ title: 'Top statements by total time', columns: ['calls', 'total ms', 'mean ms', 'rows', 'statement'], rows: st.rows.map((r) => [String(r.calls), r.totalMs.toFixed(1), r.meanMs.toFixed(2), String(r.rows), r.query.replace(/\s+/g, ' ').slice(0, 120)]) }] : []),
        { title: 'Largest tables', columns: ['table', 'size with indexes', 'rows (estimate)'], rows: tableRows },
      ],
    };
    if ('missing' in st) return { status: 'fail', summary: `Table sizes saved, but no statement baseline: ${st.missing}`, hint: 'Enable it, or accept with a reason: after the migration there will be no before/after comparison of query times.', evidence };
    return { status: 'pass', summary: `Saved the ${st.rows.length} statements with the most total time and the sizes of the ${tb.length} largest table(s) to ${path.basename(file)}.`, evidence };
  },
};

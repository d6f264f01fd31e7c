// Phase 0, performance baseline: the top 20 statements by total time and the 20 largest tables,
// saved to a file so Phase 4 can compare after the migration. Without pg_stat_statements (or
// performance_schema) there is no statement baseline: a medium failure, acceptable with a reason.
// MongoDB's profiler is usually off, so its baseline is what the server always counts: serverStatus
// opcounters, the `top` command's time per collection (since the server started), and the 20
// largest collections by $collStats storage; without the privilege to run `top` it is a medium
// failure naming the role to grant.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from 'mongodb';
import { isMongoSession, type MongoDbSession, type SqlSession } from '../../../connections/adapter';
import { writeFileAtomic } from '../../../platform/atomic-file';
import { isMongoBookkeeping } from '../../../schema/schema-fingerprint';
import { formatBytes, type CheckDef, type CheckOutcome } from '../../check';
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
    if (isMongoSession(ctx.production.session)) return mongoBaseline(ctx, ctx.production.session);
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

interface CollectionActivity { ns: string; count: number; totalMs: number; meanMs: number; reads: number; writes: number }

const counter = (x: unknown) => Number((x as { count?: unknown } | undefined)?.count ?? 0);

/** `top`: per collection, the operations and the time spent on them since the server started. */
async function collectionActivity(s: MongoDbSession, user: string, authDb: string): Promise<{ rows: CollectionActivity[] } | { missing: string }> {
  const { client, db } = s.mongo();
  let totals: Record<string, Record<string, { time?: number; count?: number }>>;
  try {
    totals = ((await client.db('admin').command({ top: 1 })).totals ?? {}) as typeof totals;
  } catch (e) {
    const err = e as Error & { codeName?: string };
    if (err.codeName === 'Unauthorized') {
      return { missing: `the user may not run the top command (${err.message}): grant the clusterMonitor role, which holds the top action, e.g. db.getSiblingDB(${JSON.stringify(authDb)}).grantRolesToUser(${JSON.stringify(user || '<user>')}, [{ role: "clusterMonitor", db: "admin" }]).` };
    }
    if (err.codeName === 'CommandNotFound' || /no such (cmd|command)/i.test(err.message)) {
      return { missing: 'the top command is not available here (mongos does not keep it): take the baseline on each shard\'s primary.' };
    }
    return { missing: `the top command failed: ${err.message}.` };
  }
  const prefix = `${db.databaseName}.`;
  const rows: CollectionActivity[] = [];
  for (const [ns, t] of Object.entries(totals)) {
    if (!ns.startsWith(prefix) || isMongoBookkeeping(ns.slice(prefix.length))) continue;
    const count = counter(t.total);
    const totalMs = Number(t.total?.time ?? 0) / 1000;
    rows.push({ ns, count, totalMs, meanMs: count ? totalMs / count : 0, reads: counter(t.queries) + counter(t.getmore), writes: counter(t.insert) + counter(t.update) + counter(t.remove) });
  }
  rows.sort((a, b) => b.totalMs - a.totalMs || (a.ns < b.ns ? -1 : 1));
  return { rows: rows.slice(0, 20) };
}

/** The 20 largest collections by storage with indexes ($collStats storageStats). */
async function largestCollections(db: Db): Promise<TableRow[]> {
  const infos = (await db.listCollections({}, { nameOnly: false }).toArray()).filter((c) => (c.type === 'collection' || c.type === 'timeseries' || c.type === undefined) && !isMongoBookkeeping(c.name));
  const out: TableRow[] = [];
  for (const c of infos) {
    try {
      const [r] = await db.collection(c.name).aggregate<{ storageStats?: { totalSize?: number; storageSize?: number; totalIndexSize?: number; count?: number } }>([{ $collStats: { storageStats: {} } }]).toArray();
      const st = r?.storageStats ?? {};
      out.push({ name: c.name, totalBytes: Number(st.totalSize ?? Number(st.storageSize ?? 0) + Number(st.totalIndexSize ?? 0)), rows: Number(st.count ?? 0) });
    } catch {
      // Dropped meanwhile, or no statistics for it: it is left out of the sizes.
    }
  }
  out.sort((a, b) => b.totalBytes - a.totalBytes || (a.name < b.name ? -1 : 1));
  return out.slice(0, 20);
}

async function mongoBaseline(ctx: Phase0Context, s: MongoDbSession): Promise<CheckOutcome> {
  const { client, db } = s.mongo();
  const status = await client.db('admin').command({ serverStatus: 1, repl: 0, metrics: 0, locks: 0, wiredTiger: 0, tcmalloc: 0 });
  const opcounters = Object.fromEntries(Object.entries((status.opcounters ?? {}) as Record<string, unknown>).map(([k, v]) => [k, Number(v)]));
  const uptimeSeconds = Number(status.uptime ?? 0);
  const p = ctx.production.profile;
  const activity = await collectionActivity(s, p.user, p.mongo?.authSource ?? (p.database || 'admin'));
  const tb = await largestCollections(db);
  const capturedAt = new Date().toISOString();
  await fs.mkdir(ctx.settings.baselineDir, { recursive: true, mode: 0o700 });
  const file = path.join(ctx.settings.baselineDir, `baseline-${ctx.production.profile.database || 'db'}-${capturedAt.replace(/[-:]/g, '').replace(/\..*/, '')}.json`);
  await writeFileAtomic(
    file,
    `${JSON.stringify({ capturedAt, engine: 'mongodb', target: ctx.production.route.address, database: db.databaseName, serverVersion: String(status.version ?? ''), uptimeSeconds, opcounters, collectionActivity: 'rows' in activity ? activity.rows : null, collectionActivityMissing: 'missing' in activity ? activity.missing : null, tables: tb }, null, 2)}\n`,
  );
  const evidence = {
    files: [file],
    facts: [['opcounters since start', Object.entries(opcounters).map(([k, v]) => `${k} ${v}`).join(', ')], ['server up for', `${(uptimeSeconds / 3600).toFixed(1)} h`]] as [string, string][],
    tables: [
      ...('rows' in activity
        ? [{ title: 'Busiest collections by total time (top, since the server started)', columns: ['collection', 'operations', 'total ms', 'mean ms', 'reads', 'writes'], rows: activity.rows.map((r) => [r.ns, String(r.count), r.totalMs.toFixed(1), r.meanMs.toFixed(2), String(r.reads), String(r.writes)]) }]
        : []),
      { title: 'Largest collections', columns: ['collection', 'size with indexes', 'documents'], rows: tb.map((t) => [t.name, formatBytes(t.totalBytes), String(t.rows)]) },
    ],
  };
  if ('missing' in activity) return { status: 'fail', summary: `Collection sizes and opcounters saved, but no per-collection timing baseline: ${activity.missing}`, hint: 'Grant it, or accept with a reason: after the migration there will be no before/after comparison of time per collection.', evidence };
  return { status: 'pass', summary: `Saved the opcounters, the ${activity.rows.length} busiest collection(s) by total time and the sizes of the ${tb.length} largest collection(s) to ${path.basename(file)}.`, evidence };
}

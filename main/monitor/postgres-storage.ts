// The storage panel for PostgreSQL: the largest tables with their heap, index and TOAST sizes, dead
// tuples, a bloat estimate and their last (auto)vacuum/analyze, and the indexes nothing has scanned.
//
// Everything comes from catalogs (pg_class, pg_index, pg_attribute, pg_stats) and the statistics
// functions (pg_stat_get_*), which take no lock on the tables they describe. That is why sizes are
// pages counted in pg_class (relpages of the table, its indexes, its TOAST table and TOAST index)
// times block_size, and not pg_total_relation_size() / pg_relation_size() / pg_table_size(): those
// open the relation with AccessShareLock to ask the storage manager for its length, so they wait
// (or, with the monitor's lock_timeout, fail) behind a migration holding ACCESS EXCLUSIVE on the
// very table a DBA wants to watch. pg_relation_filepath() + pg_stat_file() would read the files
// without a lock, but pg_stat_file() needs superuser or pg_read_server_files, a table of more than
// 1 GB is several segment files, and the monitoring role is normally only pg_monitor. relpages is
// what VACUUM, ANALYZE and CREATE INDEX last measured, so the sizes are as of each table's last
// (auto)vacuum or (auto)analyze, which the panel shows beside them.
//
// The bloat estimate is the well-known statistics-based one (ioguix / PGExperts "table bloat"): the
// pages the table's rows should fill, from reltuples and each column's pg_stats avg_width and
// null_frac, against the pages it has. It reads no table data. pgstattuple_approx() would be more
// exact but opens the relation (AccessShareLock again) and reads every page not all-visible, which
// on a table a migration churns is most of it; so it is not used here even when installed.
import type { StoragePanel } from '../../shared/monitor';
import type { PinnedSql, SqlSession } from '../connections/adapter';
import { forSql } from './sampler';
import { StorageReadError, type StorageOptions, type StorageReader, type StorageReaderFactory, type StorageReading } from './storage';

const tag = '/* flightdeck/monitor: storage */';

/** Schemas that are PostgreSQL's own, and other sessions' temporary tables. */
const userRelations = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast' and n.nspname !~ '^pg_temp_'`;

// $1: how many tables, $2: how many unused indexes. One statement, so one statement_timeout bounds
// the whole reading. The largest tables are picked first (pg_class and pg_index only), and the
// costlier parts (pg_stats for the bloat estimate, the statistics functions) run for those alone.
export const storageSql = `${tag}
with rels as (
  select c.oid, n.nspname as schema, c.relname as name, c.relpages::float8 as heap_pages, c.reltuples::float8 as reltuples,
         c.reltoastrelid, c.reloptions
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'm') and ${userRelations}
), sized as (
  select r.*,
         coalesce((select sum(i.relpages)::float8 from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = r.oid), 0) as index_pages,
         coalesce(t.relpages::float8, 0) as toast_heap_pages, coalesce(t.reltuples::float8, 0) as toast_tuples,
         coalesce((select sum(i.relpages)::float8 from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = t.oid), 0) as toast_index_pages
    from rels r left join pg_class t on t.oid = r.reltoastrelid
), top as (
  select * from sized
   order by heap_pages + index_pages + toast_heap_pages + toast_index_pages desc, schema, name
   limit $1
), cols as (
  -- Per table: its columns, and whether one has type name (avg_width is wrong there).
  select t.oid, count(*) as natts, bool_or(a.atttypid = 'pg_catalog.name'::regtype) as has_name
    from top t join pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
   group by t.oid
), stats as (
  -- Per table: the expected width of a row's data from its columns' statistics. pg_stats is a view
  -- over pg_statistic (which only superusers may read) naming tables by name; looked up one table
  -- at a time, the names reach the catalog's indexes, where a join would build the whole view.
  select t.oid, st.nstats, st.max_null_frac, st.data_width
    from top t cross join lateral (
      select count(*) as nstats, max(s.null_frac) as max_null_frac, sum((1 - s.null_frac) * s.avg_width)::float8 as data_width
        from pg_stats s where s.schemaname = t.schema and s.tablename = t.name and not s.inherited) st
), widths as (
  -- A row's header is 23 bytes, plus the null bitmap when a column has nulls. Incomplete when a
  -- column has no statistics: never analyzed, or a column the monitoring role may not read (which
  -- pg_stats hides).
  select c.oid, 23 + case when st.max_null_frac > 0 then (7 + c.natts) / 8 else 0 end as hdr,
         st.data_width, st.nstats = c.natts and not c.has_name as complete
    from cols c join stats st on st.oid = c.oid
), estimate as (
  select t.oid,
         case when w.complete and t.reltuples > 0 and t.heap_pages > 0 then
           ceil(t.reltuples / ((bs - 24) * ff / (100 * (
             -- a tuple: its line pointer, then header and data each padded to MAXALIGN (8)
             4 + w.hdr + w.data_width + 16
               - case when w.hdr % 8 = 0 then 8 else w.hdr % 8 end
               - case when ceil(w.data_width)::int % 8 = 0 then 8 else ceil(w.data_width)::int % 8 end))))
             -- TOAST rows come four to a page
             + ceil(t.toast_tuples / 4)
         end as expected_pages
    from top t
    left join widths w on w.oid = t.oid
    cross join (select current_setting('block_size')::float8 as bs) b
    cross join lateral (select coalesce(substring(array_to_string(t.reloptions, ' ') from 'fillfactor=([0-9]+)')::float8, 100) as ff) f
)
select current_setting('block_size')::int as block_size,
       pg_stat_get_db_stat_reset_time((select oid from pg_database where datname = current_database()))::text as stats_reset,
       pg_is_in_recovery() as in_recovery,
       coalesce((select json_agg(json_build_object(
                   'schema', t.schema, 'name', t.name,
                   'heapPages', t.heap_pages, 'indexPages', t.index_pages, 'toastPages', t.toast_heap_pages + t.toast_index_pages,
                   'toastHeapPages', t.toast_heap_pages, 'reltuples', t.reltuples, 'expectedPages', e.expected_pages,
                   'live', pg_stat_get_live_tuples(t.oid), 'dead', pg_stat_get_dead_tuples(t.oid),
                   'lastVacuum', pg_stat_get_last_vacuum_time(t.oid), 'lastAutovacuum', pg_stat_get_last_autovacuum_time(t.oid),
                   'lastAnalyze', pg_stat_get_last_analyze_time(t.oid), 'lastAutoanalyze', pg_stat_get_last_autoanalyze_time(t.oid))
                   order by t.heap_pages + t.index_pages + t.toast_heap_pages + t.toast_index_pages desc, t.schema, t.name)
                   from top t left join estimate e on e.oid = t.oid), '[]'::json) as tables,
       (select json_build_object('count', count(*), 'rows', coalesce(json_agg(u) filter (where u.rank <= $2), '[]'::json)) from (
          select n.nspname as schema, c.relname as "table", i.relname as name, i.relpages::float8 as pages,
                 row_number() over (order by i.relpages desc, n.nspname, c.relname, i.relname) as rank
            from pg_index x
            join pg_class i on i.oid = x.indexrelid
            join pg_class c on c.oid = x.indrelid
            join pg_namespace n on n.oid = c.relnamespace
           -- Unique, primary-key and exclusion indexes enforce constraints even when no query
           -- scans them; invalid ones (a failed CREATE INDEX CONCURRENTLY) are not used at all.
           where i.relkind = 'i' and not x.indisunique and not x.indisprimary and not x.indisexclusion and x.indisvalid
             and ${userRelations} and pg_stat_get_numscans(i.oid) = 0) u) as unused`;

interface TableJson {
  schema: string;
  name: string;
  heapPages: number;
  indexPages: number;
  toastPages: number;
  toastHeapPages: number;
  reltuples: number;
  expectedPages: number | null;
  live: number;
  dead: number;
  lastVacuum: string | null;
  lastAutovacuum: string | null;
  lastAnalyze: string | null;
  lastAutoanalyze: string | null;
}

interface StorageRow {
  block_size: number;
  stats_reset: string | null;
  in_recovery: boolean;
  tables: TableJson[];
  unused: { count: number; rows: { schema: string; table: string; name: string; pages: number }[] };
}

export const postgresStorage: StorageReaderFactory = forSql((session, opts: StorageOptions) => new PostgresStorage(session, opts));

class PostgresStorage implements StorageReader {
  constructor(
    private readonly session: SqlSession,
    private readonly opts: StorageOptions,
  ) {}

  async read(budgetMs: number): Promise<StorageReading> {
    // The monitoring session is a pool of one, so pinning it holds the samples back until this
    // returns: the budget (what is left before the next sample) bounds the statement, and the
    // transaction makes the limit local, so nothing of it stays on the session.
    const pinned = await this.session.pin();
    let healthy = true;
    try {
      await pinned.query(`begin read only; set local statement_timeout = ${Math.max(1, Math.floor(budgetMs))}`);
      const rows = await pinned.query<StorageRow & Record<string, unknown>>(storageSql, [this.opts.topTables, this.opts.unusedIndexes]);
      await pinned.query('commit');
      const row = rows[0];
      if (!row) throw new StorageReadError('The storage query returned no row.');
      return toReading(row);
    } catch (e) {
      healthy = await rollback(pinned);
      throw describe(e, budgetMs);
    } finally {
      pinned.release(!healthy);
    }
  }
}

async function rollback(pinned: PinnedSql): Promise<boolean> {
  try {
    await pinned.query('rollback');
    return true;
  } catch {
    // The session is gone or stuck: it must not go back to the pool.
    return false;
  }
}

function describe(e: unknown, budgetMs: number): Error {
  if (e instanceof StorageReadError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === '57014') {
    return new StorageReadError(
      `Not read this time: the storage query needed more than the ${Math.round(budgetMs)} ms free between two samples and was cancelled.`,
      'The catalog is large or the server busy; the sizes shown are from the last reading that completed, and the next attempt comes at the next storage interval.',
    );
  }
  if (code === '55P03') {
    return new StorageReadError(`Not read this time: a catalog lock was not granted in time (${message}).`, 'A DDL statement held a lock on a system catalog; the next attempt comes at the next storage interval.');
  }
  return new StorageReadError(`The storage reading failed: ${message}`);
}

const epoch = (t: string | null) => (t === null ? null : Date.parse(t));

function toReading(row: StorageRow): StorageReading {
  const bs = row.block_size;
  const tables: StoragePanel['tables'] = row.tables.map((t) => {
    const live = Number(t.live);
    const dead = Number(t.dead);
    // ioguix's "real size": the heap and the TOAST heap, which the expected pages also cover.
    const pages = t.heapPages + t.toastHeapPages;
    const bloatPages = t.expectedPages === null ? null : Math.max(0, pages - t.expectedPages);
    return {
      schema: t.schema,
      name: t.name,
      tableBytes: t.heapPages * bs,
      indexBytes: t.indexPages * bs,
      toastBytes: t.toastPages * bs,
      totalBytes: (t.heapPages + t.indexPages + t.toastPages) * bs,
      liveRows: live,
      deadRows: dead,
      deadRatio: live + dead > 0 ? round(dead / (live + dead), 4) : null,
      bloatBytes: bloatPages === null ? null : bloatPages * bs,
      bloatRatio: bloatPages === null || pages <= 0 ? null : round(bloatPages / pages, 4),
      lastVacuum: epoch(t.lastVacuum),
      lastAutovacuum: epoch(t.lastAutovacuum),
      lastAnalyze: epoch(t.lastAnalyze),
      lastAutoanalyze: epoch(t.lastAutoanalyze),
    };
  });
  return {
    sizeSource:
      'Sizes are pg_class.relpages × block_size as of each table\'s last VACUUM, ANALYZE or CREATE INDEX: pg_total_relation_size() would wait behind a migration\'s ACCESS EXCLUSIVE lock. Bloat is the statistics-based estimate (pg_stats widths against relpages).',
    tables,
    skipped: [],
    unusedIndexes: row.unused.rows.map((u) => ({ schema: u.schema, table: u.table, name: u.name, bytes: u.pages * bs })),
    unusedIndexCount: Number(row.unused.count),
    indexStatsSince: epoch(row.stats_reset),
    // A replica counts only its own scans: an index the primary's queries use looks unused there.
    ...(row.in_recovery ? { unusedIndexesNote: 'This is a replica: scans are counted on this server only, so an index the primary uses can look unused here (and the other way round). Check both before dropping one.' } : {}),
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

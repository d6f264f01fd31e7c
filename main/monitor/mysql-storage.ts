// The storage panel for MySQL 8 / MariaDB 10.6+: the largest tables from information_schema.TABLES
// (DATA_LENGTH, INDEX_LENGTH, TABLE_ROWS, and DATA_FREE as the space a rebuild would give back), and
// the indexes no statement has used since the server started, from performance_schema's per-index
// I/O counters.
//
// Unlike the live panels, information_schema.TABLES and .STATISTICS open each table to read its
// figures, and opening takes a shared metadata lock: a table under a DDL's exclusive metadata lock
// (an ALTER ... LOCK=EXCLUSIVE, the table a CREATE TABLE ... SELECT is filling, the last phase of
// any ALTER) makes the read wait, for up to lock_wait_timeout per table. So every statement here is
// time-boxed by the server to what is left of the reading's budget (MariaDB's max_statement_time,
// MySQL's MAX_EXECUTION_TIME hint), and on MariaDB also runs with lock_wait_timeout=0: a locked table
// then comes back at once with NULL sizes and the lock error as its comment, and is listed as
// skipped while every other table is still read. On MySQL 8 the data dictionary usually answers
// from cached statistics without opening the table; when it would wait, the time box cuts the
// statement and the reading is "not read this time".
import type { StoragePanel } from '../../shared/monitor';
import { FlightdeckError } from '../../shared/errors';
import type { SqlSession } from '../connections/adapter';
import { isDenied } from './mysql-panel-errors';
import { describeServer, perfSchemaGrantHint, perfSchemaOffHint, type MysqlServer, type Queryable } from './mysql-server';
import { forSql } from './sampler';
import { StorageReadError, type StorageOptions, type StorageReader, type StorageReaderFactory, type StorageReading } from './storage';

const systemSchemas = "('mysql', 'information_schema', 'performance_schema', 'sys')";
/** Below this much of the budget left, a statement is not started. */
const minStatementMs = 20;
const ioInstrument = 'wait/io/table/sql/handler';

export const mysqlStorage: StorageReaderFactory = forSql((session, opts: StorageOptions) => new MysqlStorage(session, opts));

class OutOfTime extends Error {}

class MysqlStorage implements StorageReader {
  private server: MysqlServer | undefined;

  constructor(
    private readonly session: SqlSession,
    private readonly opts: StorageOptions,
  ) {}

  async read(budgetMs: number): Promise<StorageReading> {
    const deadline = performance.now() + budgetMs;
    const q: Queryable = { query: (sql, params) => this.session.query(`/* flightdeck/monitor: storage */ ${sql}`, params) };
    try {
      const server = (this.server ??= await describeServer(q));
      /** A SELECT the server stops when the reading's budget is spent. */
      const boxed = (select: string, params?: unknown[]) => {
        const left = Math.floor(deadline - performance.now());
        if (left < minStatementMs) throw new OutOfTime();
        const sql = server.mariadb
          ? `SET STATEMENT max_statement_time = ${(left / 1000).toFixed(3)}, lock_wait_timeout = 0 FOR SELECT ${select}`
          : `SELECT /*+ MAX_EXECUTION_TIME(${left}) */ ${select}`;
        return q.query(sql, params);
      };

      let tables;
      try {
        tables = await readTables(boxed, this.opts.topTables);
      } catch (e) {
        throw describe(e, budgetMs, 'table sizes');
      }
      let unused: Pick<StoragePanel, 'unusedIndexes' | 'unusedIndexCount' | 'indexStatsSince' | 'unusedIndexesHint'>;
      try {
        unused = await readUnusedIndexes(q, boxed, server, this.opts.unusedIndexes);
      } catch (e) {
        if (e instanceof FlightdeckError && e.code === 'CONNECTION_LOST') throw describe(e, budgetMs, 'unused indexes');
        // The sizes are worth showing without them.
        unused = { unusedIndexes: [], unusedIndexCount: 0, indexStatsSince: null, unusedIndexesHint: describe(e, budgetMs, 'unused indexes').message };
      }
      return {
        sizeSource:
          'Sizes are information_schema.TABLES: InnoDB\'s statistics, refreshed by ANALYZE TABLE and its background statistics. Only tables the monitoring account holds a privilege on are listed. Reclaimable is DATA_FREE, the free space inside the table\'s tablespace (with innodb_file_per_table off it is the shared tablespace\'s, the same for every table).',
        ...tables,
        ...unused,
      };
    } catch (e) {
      if (e instanceof StorageReadError) throw e;
      throw describe(e, budgetMs, 'storage');
    }
  }
}

type Boxed = (select: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

async function readTables(boxed: Boxed, top: number): Promise<Pick<StorageReading, 'tables' | 'skipped'>> {
  // The top N by size, and every table that could not be opened (NULL sizes, the lock error in its
  // comment) wherever it would have ranked. Views have no sizes and are left out.
  const rows = await boxed(
    `s, n, r, d, i, f, c FROM (
       SELECT TABLE_SCHEMA AS s, TABLE_NAME AS n, TABLE_ROWS AS r, DATA_LENGTH AS d, INDEX_LENGTH AS i, DATA_FREE AS f, TABLE_COMMENT AS c,
              ROW_NUMBER() OVER (ORDER BY COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) DESC, TABLE_SCHEMA, TABLE_NAME) AS rn
         FROM information_schema.TABLES
        WHERE TABLE_SCHEMA NOT IN ${systemSchemas} AND TABLE_TYPE <> 'VIEW' AND TABLE_TYPE <> 'SEQUENCE' AND TABLE_TYPE <> 'SYSTEM VIEW'
     ) x WHERE rn <= ? OR d IS NULL ORDER BY rn`,
    [top],
  );
  const tables: StoragePanel['tables'] = [];
  const skipped: StoragePanel['skipped'] = [];
  for (const row of rows) {
    const schema = String(row.s);
    const name = String(row.n);
    if (row.d === null || row.d === undefined) {
      const why = String(row.c ?? '').trim();
      skipped.push({ schema, name, reason: /lock wait timeout/i.test(why) ? 'a DDL holds a metadata lock on it' : why || 'its sizes could not be read' });
      continue;
    }
    const data = Number(row.d);
    const index = Number(row.i ?? 0);
    const free = row.f === null || row.f === undefined ? null : Number(row.f);
    const denominator = data + index + (free ?? 0);
    tables.push({
      schema,
      name,
      tableBytes: data,
      indexBytes: index,
      toastBytes: 0,
      totalBytes: data + index,
      liveRows: row.r === null || row.r === undefined ? null : Number(row.r),
      deadRows: null,
      deadRatio: null,
      bloatBytes: free,
      bloatRatio: free === null || denominator <= 0 ? null : Math.round((free / denominator) * 10_000) / 10_000,
      lastVacuum: null,
      lastAutovacuum: null,
      lastAnalyze: null,
      lastAutoanalyze: null,
    });
  }
  return { tables, skipped };
}

async function readUnusedIndexes(q: Queryable, boxed: Boxed, server: MysqlServer, limit: number): Promise<Pick<StoragePanel, 'unusedIndexes' | 'unusedIndexCount' | 'indexStatsSince' | 'unusedIndexesHint'>> {
  const none = (hint: string) => ({ unusedIndexes: [], unusedIndexCount: 0, indexStatsSince: null, unusedIndexesHint: hint });
  if (!server.performanceSchema) return none(`Unused indexes come from performance_schema, which is OFF. ${perfSchemaOffHint()}`);

  let candidates: Record<string, unknown>[];
  let uptime: number;
  try {
    // Without the table I/O instrument (or with all instrumentation off) every index would count
    // zero uses: then nothing can be called unused.
    const setup = await q.query(
      `SELECT (SELECT ENABLED FROM performance_schema.setup_instruments WHERE NAME = ?) AS instrument,
              (SELECT ENABLED FROM performance_schema.setup_consumers WHERE NAME = 'global_instrumentation') AS global`,
      [ioInstrument],
    );
    if (String(setup[0]?.instrument).toUpperCase() !== 'YES' || String(setup[0]?.global).toUpperCase() !== 'YES') {
      return none(
        `Index use is not being counted (instrument ${ioInstrument} or consumer global_instrumentation off): run UPDATE performance_schema.setup_instruments SET ENABLED='YES' WHERE NAME='${ioInstrument}'; and keep it on in my.cnf (performance-schema-instrument='${ioInstrument}=ON').`,
      );
    }
    candidates = await boxed(
      `OBJECT_SCHEMA AS s, OBJECT_NAME AS t, INDEX_NAME AS i FROM performance_schema.table_io_waits_summary_by_index_usage
        WHERE OBJECT_TYPE = 'TABLE' AND INDEX_NAME IS NOT NULL AND INDEX_NAME <> 'PRIMARY' AND COUNT_STAR = 0 AND OBJECT_SCHEMA NOT IN ${systemSchemas}`,
    );
    const status = await q.query("SHOW GLOBAL STATUS LIKE 'Uptime'");
    uptime = Number(status[0]?.Value ?? NaN);
  } catch (e) {
    if (isDenied(e)) return none(`${server.account} may not read performance_schema, where index use is counted. ${perfSchemaGrantHint(server)}`);
    throw e;
  }
  // performance_schema counts since the server started (or since someone truncated the table).
  const indexStatsSince = Number.isFinite(uptime) ? Date.now() - uptime * 1000 : null;
  if (candidates.length === 0) return { unusedIndexes: [], unusedIndexCount: 0, indexStatsSince };

  // Unique indexes enforce a constraint whether or not any query reads them: only non-unique ones
  // are candidates. performance_schema does not say which is which; STATISTICS does, one schema at
  // a time so the server opens only the tables named. A table it cannot open now (locked) is left
  // out this time.
  const bySchema = new Map<string, Set<string>>();
  for (const c of candidates) {
    const set = bySchema.get(String(c.s)) ?? new Set<string>();
    set.add(String(c.t));
    bySchema.set(String(c.s), set);
  }
  const nonUnique = new Set<string>();
  const key = (s: unknown, t: unknown, i: unknown) => `${String(s)}\u0000${String(t)}\u0000${String(i)}`;
  for (const [schema, names] of bySchema) {
    const rows = await boxed(
      `DISTINCT TABLE_SCHEMA AS s, TABLE_NAME AS t, INDEX_NAME AS i FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?) AND NON_UNIQUE = 1`,
      [schema, [...names]],
    );
    for (const r of rows) nonUnique.add(key(r.s, r.t, r.i));
  }
  const unused = candidates.filter((c) => nonUnique.has(key(c.s, c.t, c.i)));

  // Sizes: InnoDB's persistent statistics, pages per index. The monitoring account often may not
  // read the mysql schema; the list is still useful without them.
  const sizes = new Map<string, number>();
  let unusedIndexesHint: string | undefined;
  if (unused.length > 0) {
    try {
      const rows = await boxed(
        `database_name AS s, table_name AS t, index_name AS i, stat_value * @@innodb_page_size AS b FROM mysql.innodb_index_stats
          WHERE stat_name = 'size' AND database_name IN (?)`,
        [[...bySchema.keys()]],
      );
      for (const r of rows) sizes.set(key(r.s, r.t, r.i), Number(r.b));
    } catch (e) {
      if (!isDenied(e)) throw e;
      unusedIndexesHint = `Index sizes need read access to InnoDB's statistics: GRANT SELECT ON mysql.innodb_index_stats TO ${server.account};`;
    }
  }
  const listed = unused
    .map((c) => ({ schema: String(c.s), table: String(c.t), name: String(c.i), bytes: sizes.get(key(c.s, c.t, c.i)) ?? null }))
    .sort((a, b) => (b.bytes ?? -1) - (a.bytes ?? -1) || a.schema.localeCompare(b.schema) || a.table.localeCompare(b.table) || a.name.localeCompare(b.name));
  return { unusedIndexes: listed.slice(0, limit), unusedIndexCount: listed.length, indexStatsSince, ...(unusedIndexesHint ? { unusedIndexesHint } : {}) };
}

function describe(e: unknown, budgetMs: number, what: string): StorageReadError {
  if (e instanceof StorageReadError) return e;
  if (e instanceof OutOfTime || (e instanceof FlightdeckError && e.code === 'QUERY_TIMEOUT')) {
    return new StorageReadError(
      `Not read this time: reading ${what} needed more than the ${Math.round(budgetMs)} ms free between two samples and was stopped.`,
      'information_schema opens every table to size it, which waits behind DDL holding a metadata lock and takes long with many tables; the sizes shown are from the last reading that completed.',
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  return new StorageReadError(`Reading ${what} failed: ${message}`, e instanceof FlightdeckError ? e.hint : undefined);
}

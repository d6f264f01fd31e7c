// What a PostgreSQL statement does to the tables it names, from the documentation's table of lock
// levels (Explicit Locking, 13.3.1) and ALTER TABLE's notes per sub-command: the lock on each table,
// whether the table is rewritten or scanned in full while it is held, and so what the application's
// own statements wait for. The trace (postgres-lock-trace.ts) checks these answers on a real server.
import { parsePlPgSQLSync, parseSync } from 'libpg-query';
import { pgLockModes, type BlockLevel, type PgLockMode, type StatementClass, type TableLock } from '../../shared/plan';

type Node = Record<string, unknown>;
interface RangeVar {
  schemaname?: string;
  relname: string;
}

export interface Change {
  kind: string;
  table: string;
  column?: string;
  to?: string;
  type?: string;
}

export interface StaticAnalysis {
  changes: Change[];
  command: string;
  class: StatementClass;
  locks: TableLock[];
  rewrites: string[];
  scans: string[];
  notes: string[];
}

export function relName(r: RangeVar | undefined): string {
  if (!r) return '?';
  return r.schemaname && r.schemaname !== 'public' ? `${r.schemaname}.${r.relname}` : r.relname;
}

const rank = (m: PgLockMode) => pgLockModes.indexOf(m);
export function strongest(a: PgLockMode, b: PgLockMode): PgLockMode {
  return rank(a) >= rank(b) ? a : b;
}

/** What ordinary application statements wait for while `mode` is held (the conflict table):
 * SELECT takes ACCESS SHARE, INSERT/UPDATE/DELETE ROW EXCLUSIVE. */
export function blockedBy(mode: PgLockMode): BlockLevel {
  if (mode === 'AccessExclusiveLock') return 'reads-and-writes';
  if (mode === 'ShareLock' || mode === 'ShareRowExclusiveLock' || mode === 'ExclusiveLock') return 'writes';
  if (mode === 'ShareUpdateExclusiveLock') return 'ddl';
  return 'nothing';
}

export function worstBlock(locks: TableLock[]): BlockLevel {
  const order: BlockLevel[] = ['nothing', 'ddl', 'writes', 'reads-and-writes'];
  return locks.reduce<BlockLevel>((w, l) => (order.indexOf(blockedBy(l.lock)) > order.indexOf(w) ? blockedBy(l.lock) : w), 'nothing');
}

/** Functions whose value changes per row or per call: a default using one rewrites the table. */
const volatileFunctions = new Set(['random', 'gen_random_uuid', 'uuid_generate_v4', 'uuid_generate_v1', 'clock_timestamp', 'timeofday', 'nextval', 'setseed']);

export function isVolatileExpr(expr: unknown): boolean {
  let found = false;
  walk(expr, (n) => {
    const fc = n.FuncCall as { funcname?: { String?: { sval?: string } }[] } | undefined;
    if (fc) {
      const name = fc.funcname?.[fc.funcname.length - 1]?.String?.sval?.toLowerCase();
      if (name && volatileFunctions.has(name)) found = true;
    }
  });
  return found;
}

export function walk(node: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit);
  } else if (node && typeof node === 'object') {
    visit(node as Node);
    for (const v of Object.values(node as Node)) walk(v, visit);
  }
}

export function typeName(t: unknown): string {
  const tn = t as { names?: { String?: { sval?: string } }[]; typmods?: unknown[] } | undefined;
  const names = (tn?.names ?? []).map((n) => n.String?.sval ?? '').filter((n) => n !== 'pg_catalog');
  const mods: string[] = [];
  walk(tn?.typmods, (n) => {
    const c = n.A_Const as { ival?: { ival?: number } } | undefined;
    if (c?.ival) mods.push(String(c.ival.ival ?? 0));
  });
  const friendly: Record<string, string> = { int8: 'bigint', int4: 'integer', int2: 'smallint', bool: 'boolean', float8: 'double precision', float4: 'real', bpchar: 'char' };
  const joined = names.join('.');
  return `${friendly[joined] ?? joined}${mods.length ? `(${mods.join(',')})` : ''}`;
}

interface ColumnConstraint {
  contype: string;
  raw_expr?: unknown;
  pktable?: RangeVar;
  skip_validation?: boolean;
  indexname?: string;
}

function constraintsOf(def: Node | undefined): ColumnConstraint[] {
  return ((def?.constraints as { Constraint: ColumnConstraint }[] | undefined) ?? []).map((c) => c.Constraint);
}

/** One ALTER TABLE sub-command: its lock on the table, its effects, and locks on other tables. */
function alterTableCmd(table: string, cmd: Node, out: StaticAnalysis): { lock: PgLockMode; cls: StatementClass } {
  const sub = String(cmd.subtype);
  const def = cmd.def as Node | undefined;
  const AE: PgLockMode = 'AccessExclusiveLock';
  switch (sub) {
    case 'AT_AddColumn': {
      const col = def?.ColumnDef as Node | undefined;
      const cons = constraintsOf(col);
      const dflt = cons.find((c) => c.contype === 'CONSTR_DEFAULT');
      const notNull = cons.some((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY');
      if (dflt && isVolatileExpr(dflt.raw_expr)) {
        out.rewrites.push(table);
        out.notes.push(`ADD COLUMN ${String(col?.colname)} with a volatile default rewrites ${table}`);
      }
      if (cons.some((c) => c.contype === 'CONSTR_GENERATED')) {
        out.rewrites.push(table);
        out.notes.push(`a stored generated column rewrites ${table}`);
      }
      if (cons.some((c) => c.contype === 'CONSTR_IDENTITY')) {
        out.rewrites.push(table);
        out.notes.push(`an identity column fills every row: ${table} is rewritten`);
      }
      for (const c of cons) if (c.contype === 'CONSTR_FOREIGN' && c.pktable) out.locks.push({ table: relName(c.pktable), lock: 'ShareRowExclusiveLock' });
      if (cons.some((c) => c.contype === 'CONSTR_PRIMARY' || c.contype === 'CONSTR_UNIQUE')) out.scans.push(table);
      return { lock: AE, cls: notNull && !dflt ? 'backward-incompatible' : 'backward-compatible' };
    }
    case 'AT_DropColumn':
      return { lock: AE, cls: 'backward-incompatible' };
    case 'AT_AlterColumnType': {
      // Only binary-coercible changes (varchar(n) to a larger n or to text, …) skip the rewrite,
      // and that depends on the column's current type: the trace tells for sure.
      const to = typeName((def?.ColumnDef as Node | undefined)?.typeName);
      out.rewrites.push(table);
      out.notes.push(`ALTER COLUMN ${String(cmd.name)} TYPE ${to} rewrites ${table} unless the old type converts without change (the trace tells)`);
      // Widening to text or unbounded varchar accepts everything old code writes and returns strings
      // as before: running code keeps working.
      return { lock: AE, cls: to === 'text' || to === 'varchar' ? 'backward-compatible' : 'backward-incompatible' };
    }
    case 'AT_ColumnDefault':
      return { lock: AE, cls: def ? 'backward-compatible' : 'backward-incompatible' };
    case 'AT_SetNotNull':
      out.scans.push(table);
      out.notes.push(`SET NOT NULL on ${String(cmd.name)} scans ${table} under ACCESS EXCLUSIVE unless a validated CHECK (${String(cmd.name)} IS NOT NULL) proves it (PostgreSQL 12+)`);
      return { lock: AE, cls: 'backward-incompatible' };
    case 'AT_DropNotNull':
      return { lock: AE, cls: 'backward-compatible' };
    case 'AT_AddConstraint': {
      const c = (def?.Constraint ?? {}) as ColumnConstraint;
      if (c.contype === 'CONSTR_FOREIGN') {
        if (c.pktable) out.locks.push({ table: relName(c.pktable), lock: 'ShareRowExclusiveLock' });
        if (!c.skip_validation) out.scans.push(table);
        return { lock: 'ShareRowExclusiveLock', cls: 'backward-compatible' };
      }
      if (c.contype === 'CONSTR_CHECK') {
        if (!c.skip_validation) out.scans.push(table);
        return { lock: AE, cls: 'backward-compatible' };
      }
      if (c.contype === 'CONSTR_PRIMARY' || c.contype === 'CONSTR_UNIQUE' || c.contype === 'CONSTR_EXCLUSION') {
        if (!c.indexname) {
          out.scans.push(table);
          out.notes.push(`the ${c.contype === 'CONSTR_PRIMARY' ? 'primary key' : 'constraint'} builds its index on ${table} while ACCESS EXCLUSIVE is held`);
        }
        return { lock: AE, cls: 'backward-compatible' };
      }
      return { lock: AE, cls: 'backward-compatible' };
    }
    case 'AT_ValidateConstraint':
      out.scans.push(table);
      out.notes.push(`VALIDATE of a foreign key also takes ROW SHARE on the table it references`);
      return { lock: 'ShareUpdateExclusiveLock', cls: 'backward-compatible' };
    case 'AT_DropConstraint':
      return { lock: AE, cls: 'backward-compatible' };
    case 'AT_SetStatistics':
    case 'AT_SetRelOptions':
    case 'AT_ResetRelOptions':
    case 'AT_ClusterOn':
    case 'AT_DropCluster':
      return { lock: 'ShareUpdateExclusiveLock', cls: 'other' };
    case 'AT_SetTableSpace':
    case 'AT_SetLogged':
    case 'AT_SetUnLogged':
      out.rewrites.push(table);
      return { lock: AE, cls: 'other' };
    case 'AT_EnableTrig':
    case 'AT_DisableTrig':
    case 'AT_EnableTrigAll':
    case 'AT_DisableTrigAll':
    case 'AT_EnableTrigUser':
    case 'AT_DisableTrigUser':
    case 'AT_EnableAlwaysTrig':
    case 'AT_EnableReplicaTrig':
      return { lock: 'ShareRowExclusiveLock', cls: 'other' };
    case 'AT_AttachPartition': {
      const part = (def?.PartitionCmd as { name?: RangeVar } | undefined)?.name;
      if (part) {
        out.locks.push({ table: relName(part), lock: AE });
        out.scans.push(relName(part));
      }
      return { lock: 'ShareUpdateExclusiveLock', cls: 'backward-compatible' };
    }
    case 'AT_DetachPartition': {
      const pc = def?.PartitionCmd as { name?: RangeVar; concurrent?: boolean } | undefined;
      if (pc?.name) out.locks.push({ table: relName(pc.name), lock: AE });
      return { lock: pc?.concurrent ? 'ShareUpdateExclusiveLock' : AE, cls: 'backward-incompatible' };
    }
    default:
      return { lock: AE, cls: 'other' };
  }
}

/** Tables a statement reads (FROM, JOIN, sub-selects): it takes ACCESS SHARE on each. CTE names
 * are not tables. */
function tablesRead(node: unknown, target: unknown): string[] {
  const ctes = new Set<string>();
  walk(node, (n) => {
    const c = n.CommonTableExpr as { ctename?: string } | undefined;
    if (c?.ctename) ctes.add(c.ctename);
  });
  const out = new Set<string>();
  walk(node, (n) => {
    const r = n.RangeVar as RangeVar | undefined;
    if (r && r !== target && !(!r.schemaname && ctes.has(r.relname))) out.add(relName(r));
  });
  return [...out];
}

const lockStmtModes: PgLockMode[] = ['AccessShareLock', 'AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];

/** Qualified names of a DROP's objects, written as relName writes them (public. left out). */
function names(list: unknown): string[] {
  return ((list as { List?: { items?: { String?: { sval?: string } }[] } }[] | undefined) ?? []).map((o) =>
    (o.List?.items ?? []).map((i) => i.String?.sval ?? '').filter(Boolean).join('.').replace(/^public\./, ''),
  );
}

/** The static answer for one parsed statement. */
export function analysePostgresStatement(kind: string, node: Node): StaticAnalysis {
  const out: StaticAnalysis = { command: kind, class: 'other', locks: [], rewrites: [], scans: [], notes: [], changes: [] };
  const lock = (table: string, mode: PgLockMode) => out.locks.push({ table, lock: mode });
  switch (kind) {
    case 'AlterTableStmt': {
      const table = relName(node.relation as RangeVar);
      const objtype = String(node.objtype);
      const cmds = ((node.cmds as { AlterTableCmd: Node }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
      let mode: PgLockMode = 'AccessShareLock';
      const classes: StatementClass[] = [];
      const subs: string[] = [];
      for (const cmd of cmds) {
        const r = alterTableCmd(table, cmd, out);
        const colDef = (cmd.def as Node | undefined)?.ColumnDef as Node | undefined;
        out.changes.push({
          kind: String(cmd.subtype).replace(/^AT_/, '').replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase(),
          table,
          ...(cmd.name ? { column: String(cmd.name) } : colDef?.colname ? { column: String(colDef.colname) } : {}),
          ...(colDef?.typeName ? { type: typeName(colDef.typeName) } : {}),
        });
        mode = strongest(mode, r.lock);
        classes.push(r.cls);
        subs.push(String(cmd.subtype).replace(/^AT_/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase());
      }
      out.command = `ALTER ${objtype === 'OBJECT_INDEX' ? 'INDEX' : objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED VIEW' : 'TABLE'} … ${subs.join(', ')}`;
      lock(table, mode);
      out.class = classes.includes('backward-incompatible') ? 'backward-incompatible' : classes.includes('backward-compatible') ? 'backward-compatible' : 'other';
      break;
    }
    case 'RenameStmt': {
      const what = String(node.renameType).replace('OBJECT_', '');
      out.command = `ALTER … RENAME ${what === 'TABCONSTRAINT' ? 'CONSTRAINT' : what}`;
      // ALTER INDEX … RENAME takes SHARE UPDATE EXCLUSIVE on the index's table since PostgreSQL 12.
      if (node.relation) lock(what === 'INDEX' ? `${relName(node.relation as RangeVar)} (index)` : relName(node.relation as RangeVar), what === 'INDEX' ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock');
      out.class = ['COLUMN', 'TABLE', 'VIEW', 'MATVIEW'].includes(what) ? 'backward-incompatible' : 'other';
      out.changes.push({ kind: `rename-${what.toLowerCase()}`, table: relName(node.relation as RangeVar), ...(node.subname ? { column: String(node.subname) } : {}), to: String(node.newname) });
      break;
    }
    case 'IndexStmt': {
      const table = relName(node.relation as RangeVar);
      out.command = `CREATE ${node.unique ? 'UNIQUE ' : ''}INDEX${node.concurrent ? ' CONCURRENTLY' : ''}`;
      lock(table, node.concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock');
      out.scans.push(table);
      out.class = 'backward-compatible';
      break;
    }
    case 'DropStmt': {
      const type = String(node.removeType).replace('OBJECT_', '');
      out.command = `DROP ${type}${node.concurrent ? ' CONCURRENTLY' : ''}`;
      const objs = names(node.objects);
      if (type === 'TABLE' || type === 'VIEW' || type === 'MATVIEW' || type === 'SEQUENCE' || type === 'FOREIGN_TABLE') {
        for (const o of objs) {
          lock(o, 'AccessExclusiveLock');
          out.changes.push({ kind: `drop-${type.toLowerCase()}`, table: o });
        }
        if (type === 'TABLE') out.notes.push('DROP TABLE also takes ACCESS EXCLUSIVE on every table its foreign keys reference (the trace names them)');
      }
      else if (type === 'INDEX') {
        for (const o of objs) lock(`${o} (index)`, node.concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock');
        out.notes.push(`DROP INDEX${node.concurrent ? ' CONCURRENTLY' : ''} takes ${node.concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE'} on the index's table`);
      } else if (type === 'TRIGGER') {
        for (const o of objs) lock(o.split('.').slice(0, -1).join('.') || o, 'AccessExclusiveLock');
      }
      out.class = type === 'INDEX' || type === 'TRIGGER' ? 'backward-compatible' : 'backward-incompatible';
      break;
    }
    case 'CreateStmt': {
      out.command = 'CREATE TABLE';
      walk(node.tableElts, (n) => {
        const c = n.Constraint as ColumnConstraint | undefined;
        if (c?.contype === 'CONSTR_FOREIGN' && c.pktable) lock(relName(c.pktable), 'ShareRowExclusiveLock');
      });
      out.class = 'backward-compatible';
      break;
    }
    case 'CreateTableAsStmt':
      out.command = 'CREATE TABLE AS';
      out.class = 'data-transformation';
      break;
    case 'CreateTrigStmt':
      out.command = 'CREATE TRIGGER';
      lock(relName(node.relation as RangeVar), 'ShareRowExclusiveLock');
      out.class = 'other';
      break;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt': {
      const verb = kind.replace('Stmt', '').toUpperCase();
      const table = relName(node.relation as RangeVar);
      out.command = verb;
      lock(table, 'RowExclusiveLock');
      for (const t of tablesRead(node, node.relation)) if (t !== table) lock(t, 'AccessShareLock');
      if ((kind === 'UpdateStmt' || kind === 'DeleteStmt') && !node.whereClause) out.notes.push(`${verb} without WHERE touches every row of ${table} in one transaction`);
      out.class = 'data-transformation';
      break;
    }
    case 'TruncateStmt':
      out.command = 'TRUNCATE';
      for (const r of (node.relations as { RangeVar: RangeVar }[] | undefined) ?? []) {
        lock(relName(r.RangeVar), 'AccessExclusiveLock');
        // TRUNCATE gives the table a new, empty file.
        out.rewrites.push(relName(r.RangeVar));
      }
      out.class = 'data-transformation';
      break;
    case 'LockStmt':
      out.command = 'LOCK TABLE';
      for (const r of (node.relations as { RangeVar: RangeVar }[] | undefined) ?? []) lock(relName(r.RangeVar), lockStmtModes[Number(node.mode ?? 8)] ?? 'AccessExclusiveLock');
      break;
    case 'VacuumStmt': {
      const full = ((node.options as { DefElem?: { defname?: string } }[] | undefined) ?? []).some((o) => o.DefElem?.defname === 'full');
      out.command = node.is_vacuumcmd ? (full ? 'VACUUM FULL' : 'VACUUM') : 'ANALYZE';
      for (const r of (node.rels as { VacuumRelation?: { relation?: RangeVar } }[] | undefined) ?? []) {
        const t = relName(r.VacuumRelation?.relation);
        lock(t, full ? 'AccessExclusiveLock' : 'ShareUpdateExclusiveLock');
        if (full) out.rewrites.push(t);
      }
      break;
    }
    case 'ClusterStmt':
      out.command = 'CLUSTER';
      if (node.relation) {
        lock(relName(node.relation as RangeVar), 'AccessExclusiveLock');
        out.rewrites.push(relName(node.relation as RangeVar));
      }
      break;
    case 'ReindexStmt': {
      const concurrently = ((node.params as { DefElem?: { defname?: string } }[] | undefined) ?? []).some((p) => p.DefElem?.defname === 'concurrently');
      const target = relName(node.relation as RangeVar);
      out.command = `REINDEX${concurrently ? ' CONCURRENTLY' : ''}`;
      if (node.kind === 'REINDEX_OBJECT_TABLE') lock(target, concurrently ? 'ShareUpdateExclusiveLock' : 'ShareLock');
      else if (node.kind === 'REINDEX_OBJECT_INDEX') {
        lock(`${target} (index)`, concurrently ? 'ShareUpdateExclusiveLock' : 'ShareLock');
        out.notes.push(`REINDEX INDEX${concurrently ? ' CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on the table' : ' takes SHARE on the index\'s table (writes wait) and ACCESS EXCLUSIVE on the index'}`);
      }
      break;
    }
    case 'RefreshMatViewStmt':
      out.command = `REFRESH MATERIALIZED VIEW${node.concurrent ? ' CONCURRENTLY' : ''}`;
      lock(relName(node.relation as RangeVar), node.concurrent ? 'ExclusiveLock' : 'AccessExclusiveLock');
      out.class = 'data-transformation';
      break;
    case 'CommentStmt':
      out.command = 'COMMENT ON';
      if (node.objtype === 'OBJECT_TABLE' || node.objtype === 'OBJECT_COLUMN') {
        const n = names([node.object])[0] ?? '';
        lock(node.objtype === 'OBJECT_COLUMN' ? n.split('.').slice(0, -1).join('.') : n, 'ShareUpdateExclusiveLock');
      }
      break;
    case 'ViewStmt':
      out.command = node.replace ? 'CREATE OR REPLACE VIEW' : 'CREATE VIEW';
      if (node.replace) lock(relName(node.view as RangeVar), 'AccessExclusiveLock');
      for (const t of tablesRead(node.query, undefined)) lock(t, 'AccessShareLock');
      out.class = 'backward-compatible';
      break;
    case 'CreateEnumStmt':
      out.command = 'CREATE TYPE … AS ENUM';
      out.class = 'backward-compatible';
      break;
    case 'AlterEnumStmt':
      out.command = node.oldVal !== undefined ? 'ALTER TYPE … RENAME VALUE' : 'ALTER TYPE … ADD VALUE';
      out.class = node.oldVal !== undefined ? 'backward-incompatible' : 'backward-compatible';
      break;
    case 'CreateFunctionStmt':
      out.command = node.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
      out.class = 'backward-compatible';
      break;
    case 'DoStmt':
      out.command = 'DO block';
      out.class = 'data-transformation';
      analyseDoBlock(node, out);
      break;
    case 'CallStmt':
      out.command = 'CALL';
      out.class = 'data-transformation';
      out.notes.push('a procedure call runs code: its locks are known only from the trace');
      break;
    case 'CreateSeqStmt':
      out.command = 'CREATE SEQUENCE';
      out.class = 'backward-compatible';
      break;
    case 'CreateSchemaStmt':
      out.command = 'CREATE SCHEMA';
      out.class = 'backward-compatible';
      break;
    case 'TransactionStmt':
      out.command = String(node.kind).replace('TRANS_STMT_', '').replace('START', 'START TRANSACTION');
      break;
    case 'VariableSetStmt':
      out.command = `SET ${String(node.name ?? '')}`.trim();
      break;
    case 'CreateExtensionStmt':
      out.command = 'CREATE EXTENSION';
      out.class = 'backward-compatible';
      break;
    default:
      out.command = kind.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  }
  // One entry per table, with the strongest lock.
  const byTable = new Map<string, PgLockMode>();
  for (const l of out.locks) byTable.set(l.table, byTable.has(l.table) ? strongest(byTable.get(l.table)!, l.lock) : l.lock);
  out.locks = [...byTable].map(([table, lockMode]) => ({ table, lock: lockMode }));
  out.rewrites = [...new Set(out.rewrites)];
  out.scans = [...new Set(out.scans.filter((t) => !out.rewrites.includes(t)))];
  return out;
}

/**
 * A DO block's PL/pgSQL, parsed with PostgreSQL's own PL/pgSQL parser (libpg-query wraps it as a
 * function): the SQL statements in it are analysed like top-level ones, and their locks, rewrites
 * and scans become the block's. Statements inside a loop run once per iteration; dynamic SQL
 * (EXECUTE) cannot be seen, and the notes say so.
 */
function analyseDoBlock(node: Node, out: StaticAnalysis): void {
  const args = (node.args as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }[] | undefined) ?? [];
  const body = args.find((a) => a.DefElem?.defname === 'as')?.DefElem?.arg?.String?.sval;
  const language = args.find((a) => a.DefElem?.defname === 'language')?.DefElem?.arg?.String?.sval ?? 'plpgsql';
  if (body === undefined || language.toLowerCase() !== 'plpgsql') {
    out.notes.push(`a DO block in ${language}: its locks are known only from the trace`);
    return;
  }
  let tag = 'fd_body';
  while (body.includes(`$${tag}$`)) tag += '_';
  let parsed: unknown;
  try {
    parsed = parsePlPgSQLSync(`CREATE FUNCTION fd_do_block() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$`);
  } catch (e) {
    out.notes.push(`the DO block's PL/pgSQL does not parse (${(e as Error).message}): its locks are known only from the trace`);
    return;
  }
  const inner: { query: string; loop: boolean }[] = [];
  let dynamic = 0;
  const visit = (n: unknown, loop: boolean): void => {
    if (Array.isArray(n)) {
      for (const x of n) visit(x, loop);
      return;
    }
    if (!n || typeof n !== 'object') return;
    for (const [k, v] of Object.entries(n as Node)) {
      if (k === 'PLpgSQL_stmt_execsql') {
        const q = (v as { sqlstmt?: { PLpgSQL_expr?: { query?: string } } }).sqlstmt?.PLpgSQL_expr?.query;
        if (q) inner.push({ query: q, loop });
      } else if (k === 'PLpgSQL_stmt_dynexecute' || k === 'PLpgSQL_stmt_dynfors') {
        dynamic++;
      }
      visit(v, loop || /^PLpgSQL_stmt_(loop|while|fori|fors|forc|foreach_a)$/.test(k));
    }
  };
  visit(parsed, false);
  const classes: StatementClass[] = [];
  for (const { query, loop } of inner) {
    let stmts: { stmt: Record<string, Node> }[];
    try {
      stmts = ((parseSync(query) as { stmts?: { stmt: Record<string, Node> }[] }).stmts ?? []);
    } catch {
      continue;
    }
    for (const st of stmts) {
      const kind = Object.keys(st.stmt)[0]!;
      const a = analysePostgresStatement(kind, st.stmt[kind]!);
      out.locks.push(...a.locks);
      out.rewrites.push(...a.rewrites);
      out.scans.push(...a.scans);
      out.changes.push(...a.changes);
      classes.push(a.class);
      if (['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(kind) && a.locks[0]) out.changes.push({ kind: 'dml-in-code', table: a.locks[0].table });
      const firstLine = query.replace(/\s+/g, ' ').trim();
      out.notes.push(`inside: ${a.command}${a.locks[0] ? ` on ${a.locks[0].table}` : ''}${loop ? ' (in a loop: once per iteration)' : ''}: ${firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine}`);
      for (const n of a.notes) out.notes.push(`inside: ${n}`);
    }
  }
  if (dynamic) out.notes.push(`${dynamic} dynamic statement(s) (EXECUTE …) in the block cannot be analysed statically: the trace shows what they lock`);
  if (classes.includes('backward-incompatible')) out.class = 'backward-incompatible';
  else if (!classes.includes('data-transformation') && classes.length && !dynamic) out.class = classes.includes('backward-compatible') ? 'backward-compatible' : 'other';
  const byTable = new Map<string, PgLockMode>();
  for (const l of out.locks) byTable.set(l.table, byTable.has(l.table) ? strongest(byTable.get(l.table)!, l.lock) : l.lock);
  out.locks = [...byTable].map(([table, lock]) => ({ table, lock }));
}

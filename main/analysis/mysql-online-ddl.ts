// What a MySQL/MariaDB statement does to its table, from MySQL's "Online DDL Operations" tables
// (8.0) and MariaDB's InnoDB online DDL pages: the algorithm the server picks by default (INSTANT,
// INPLACE or COPY), whether the table is rebuilt, the concurrency it allows (LOCK=NONE, SHARED,
// EXCLUSIVE), and so what the application waits for. An explicit ALGORITHM= / LOCK= clause wins,
// as on the server (which refuses the statement if the operation cannot honour it).
// Statements are parsed with node-sql-parser's MySQL grammar; what it cannot parse is reported, not
// guessed at.
import sqlParser from 'node-sql-parser';
import type { BlockLevel, StatementClass } from '../../shared/plan';
import type { Change, StaticAnalysis } from './postgres-locks';

const { Parser } = sqlParser;
const parser = new Parser();

export type Algorithm = 'INSTANT' | 'INPLACE' | 'COPY';
export type DdlLock = 'NONE' | 'SHARED' | 'EXCLUSIVE';

export interface MysqlAnalysis extends StaticAnalysis {
  online?: { algorithm: Algorithm; lock: DdlLock; rebuild: boolean; explicit: boolean };
  blocks: BlockLevel;
}

type Ast = Record<string, unknown>;

interface Op {
  algorithm: Algorithm;
  lock: DdlLock;
  rebuild: boolean;
  cls: StatementClass;
  note?: string;
  change?: Change;
}

const order: Algorithm[] = ['INSTANT', 'INPLACE', 'COPY'];
const lockOrder: DdlLock[] = ['NONE', 'SHARED', 'EXCLUSIVE'];

const tableName = (t: { db?: string | null; table?: string } | undefined) => (t ? `${t.db ? `${t.db}.` : ''}${t.table}` : '?');
const colName = (c: unknown) => String((c as { column?: unknown } | undefined)?.column ?? '?');

/** The default behaviour of one ALTER TABLE action. */
function alterOp(table: string, e: Ast): Op | null {
  const action = String(e.action ?? '');
  const resource = String(e.resource ?? '');
  const keyword = String(e.keyword ?? '').toLowerCase();
  if (resource === 'algorithm' || resource === 'lock') return null;
  if (resource === 'column') {
    if (action === 'add') {
      const notNull = (e.nullable as { type?: string } | undefined)?.type === 'not null';
      return { algorithm: 'INSTANT', lock: 'NONE', rebuild: false, cls: notNull && !e.default_val ? 'backward-incompatible' : 'backward-compatible', change: { kind: 'add-column', table, column: colName(e.column) } };
    }
    if (action === 'drop') return { algorithm: 'INSTANT', lock: 'NONE', rebuild: false, cls: 'backward-incompatible', note: `DROP COLUMN ${colName(e.column)} is INSTANT on MySQL 8.0.29+ and MariaDB 10.4+; older servers rebuild the table (INPLACE)`, change: { kind: 'drop-column', table, column: colName(e.column) } };
    if (action === 'rename') return { algorithm: 'INSTANT', lock: 'NONE', rebuild: false, cls: 'backward-incompatible', change: { kind: 'rename-column', table, column: colName(e.old_column), to: colName(e.column) } };
    if (action === 'modify' || action === 'change') {
      const renamed = action === 'change' && colName(e.old_column) !== colName(e.column);
      return {
        algorithm: 'COPY',
        lock: 'SHARED',
        rebuild: true,
        cls: 'backward-incompatible',
        note: `${action.toUpperCase()} COLUMN ${colName(e.old_column ?? e.column)}: a data type change copies the table (writes wait); extending a VARCHAR within the same length prefix, or only changing NULL-ness or the default, runs INPLACE — state ALGORITHM=INPLACE, LOCK=NONE and the server refuses the statement if it cannot`,
        change: renamed ? { kind: 'rename-column', table, column: colName(e.old_column), to: colName(e.column) } : { kind: 'alter-column-type', table, column: colName(e.column), type: String((e.definition as { dataType?: string } | undefined)?.dataType ?? '') },
      };
    }
  }
  if (resource === 'index' || keyword === 'index' || keyword === 'key' || resource === 'unique' || keyword.includes('unique')) {
    if (action === 'add') {
      const kind = String(e.index_type ?? keyword).toLowerCase();
      if (/fulltext|spatial/.test(kind)) return { algorithm: 'INPLACE', lock: 'SHARED', rebuild: false, cls: 'backward-compatible', note: 'FULLTEXT and SPATIAL indexes block writes while they build' };
      return { algorithm: 'INPLACE', lock: 'NONE', rebuild: false, cls: 'backward-compatible' };
    }
    if (action === 'drop' || action === 'rename') return { algorithm: 'INPLACE', lock: 'NONE', rebuild: false, cls: 'backward-compatible' };
  }
  if (resource === 'constraint' || keyword.includes('constraint') || keyword.includes('primary') || keyword.includes('foreign') || keyword.includes('check')) {
    const def = JSON.stringify(e).toLowerCase();
    const ctype = String((e.create_definitions as { constraint_type?: string } | undefined)?.constraint_type ?? '').toLowerCase();
    if (action === 'add' && /^unique/.test(ctype)) return { algorithm: 'INPLACE', lock: 'NONE', rebuild: false, cls: 'backward-compatible', note: 'a UNIQUE index builds in place; it fails if existing rows hold duplicates' };
    if (action === 'add' && def.includes('primary key')) return { algorithm: 'INPLACE', lock: 'NONE', rebuild: true, cls: 'backward-compatible', note: 'ADD PRIMARY KEY rebuilds the table in place' };
    if (action === 'drop' && def.includes('primary')) return { algorithm: 'COPY', lock: 'SHARED', rebuild: true, cls: 'backward-incompatible', note: 'DROP PRIMARY KEY without adding a new one copies the table' };
    if (action === 'add' && def.includes('foreign')) return { algorithm: 'COPY', lock: 'SHARED', rebuild: true, cls: 'backward-compatible', note: 'ADD FOREIGN KEY copies the table unless foreign_key_checks=0 (then INPLACE, unvalidated)' };
    if (action === 'add' && def.includes('check')) return { algorithm: 'COPY', lock: 'SHARED', rebuild: true, cls: 'backward-compatible', note: 'ADD CHECK validates every row while writes wait' };
    if (action === 'drop') return { algorithm: 'INPLACE', lock: 'NONE', rebuild: false, cls: 'backward-compatible' };
  }
  if (resource === 'table' && action === 'rename') return { algorithm: 'INSTANT', lock: 'NONE', rebuild: false, cls: 'backward-incompatible', change: { kind: 'rename-table', table, to: String((e.table as string | undefined) ?? '') } };
  if (resource === 'engine') return { algorithm: 'INPLACE', lock: 'NONE', rebuild: true, cls: 'other', note: 'ENGINE= rebuilds the table' };
  return { algorithm: 'COPY', lock: 'SHARED', rebuild: true, cls: 'other', note: `no online-DDL entry for "${action} ${resource}": assumed to copy the table` };
}

function blocksFor(algorithm: Algorithm, lock: DdlLock): BlockLevel {
  if (lock === 'EXCLUSIVE') return 'reads-and-writes';
  if (lock === 'SHARED' || algorithm === 'COPY') return 'writes';
  return 'nothing';
}

export interface MysqlParse {
  ok: boolean;
  ast?: Ast;
  error?: string;
}

/** MySQL's grammar first (it covers more ALTER forms), MariaDB's second. */
export function parseMysql(text: string): MysqlParse {
  for (const database of ['MySQL', 'MariaDB']) {
    try {
      const ast = parser.astify(text, { database }) as unknown as Ast | Ast[];
      return { ok: true, ast: Array.isArray(ast) ? ast[0]! : ast };
    } catch (e) {
      if (database === 'MariaDB') return { ok: false, error: `node-sql-parser's MySQL grammar does not cover it (${(e as Error).message.split('\n')[0]!.slice(0, 160)})` };
    }
  }
  return { ok: false };
}

export function analyseMysqlStatement(ast: Ast): MysqlAnalysis {
  const out: MysqlAnalysis = { command: String(ast.type).toUpperCase(), class: 'other', locks: [], rewrites: [], scans: [], notes: [], changes: [], blocks: 'nothing' };
  const type = String(ast.type);
  if (type === 'alter') {
    const table = tableName((ast.table as { db?: string; table?: string }[])[0]);
    const exprs = (ast.expr as Ast[] | undefined) ?? [];
    let algorithm: Algorithm = 'INSTANT';
    let lock: DdlLock = 'NONE';
    let rebuild = false;
    const classes: StatementClass[] = [];
    const names: string[] = [];
    for (const e of exprs) {
      const op = alterOp(table, e);
      if (!op) continue;
      names.push(`${String(e.action ?? e.resource).toUpperCase()} ${String(e.resource ?? '').toUpperCase()}`.trim());
      if (order.indexOf(op.algorithm) > order.indexOf(algorithm)) algorithm = op.algorithm;
      if (lockOrder.indexOf(op.lock) > lockOrder.indexOf(lock)) lock = op.lock;
      rebuild ||= op.rebuild;
      classes.push(op.cls);
      if (op.note) out.notes.push(op.note);
      if (op.change) out.changes.push(op.change);
    }
    const explicitAlgorithm = exprs.find((e) => e.resource === 'algorithm')?.algorithm as Algorithm | 'DEFAULT' | undefined;
    const explicitLock = exprs.find((e) => e.resource === 'lock')?.lock as DdlLock | 'DEFAULT' | undefined;
    const explicit = Boolean((explicitAlgorithm && explicitAlgorithm !== 'DEFAULT') || (explicitLock && explicitLock !== 'DEFAULT'));
    if (explicitAlgorithm && explicitAlgorithm !== 'DEFAULT') algorithm = explicitAlgorithm;
    if (explicitLock && explicitLock !== 'DEFAULT') lock = explicitLock;
    if (algorithm === 'COPY' && lock === 'NONE') lock = 'SHARED';
    out.command = `ALTER TABLE … ${names.join(', ')}`;
    out.online = { algorithm, lock, rebuild, explicit };
    if (rebuild || algorithm === 'COPY') out.rewrites.push(table);
    out.class = classes.includes('backward-incompatible') ? 'backward-incompatible' : classes.includes('backward-compatible') ? 'backward-compatible' : 'other';
    out.blocks = blocksFor(algorithm, lock);
    return out;
  }
  if (type === 'create' && ast.keyword === 'index') {
    const table = tableName(ast.table as { db?: string; table?: string });
    const algorithm = ((ast.algorithm_option as { algorithm?: Algorithm } | undefined)?.algorithm ?? 'INPLACE') as Algorithm;
    const lock = ((ast.lock_option as { lock?: DdlLock } | undefined)?.lock ?? (/fulltext|spatial/i.test(String(ast.index_type ?? '')) ? 'SHARED' : 'NONE')) as DdlLock;
    out.command = 'CREATE INDEX';
    out.online = { algorithm, lock, rebuild: false, explicit: Boolean(ast.algorithm_option || ast.lock_option) };
    out.scans.push(table);
    out.class = 'backward-compatible';
    out.blocks = blocksFor(algorithm, lock);
    return out;
  }
  if (type === 'create') {
    out.command = `CREATE ${String(ast.keyword ?? '').toUpperCase()}`;
    out.class = 'backward-compatible';
    return out;
  }
  if (type === 'drop') {
    const kw = String(ast.keyword ?? '').toUpperCase();
    out.command = `DROP ${kw}`;
    if (kw === 'TABLE' || kw === 'VIEW') {
      for (const t of (ast.name as { db?: string; table?: string }[] | undefined) ?? []) out.changes.push({ kind: `drop-${kw.toLowerCase()}`, table: tableName(t) });
      out.class = 'backward-incompatible';
      out.blocks = 'reads-and-writes';
      out.notes.push('DROP takes an exclusive metadata lock: it waits for every open transaction on the table, and everything after it waits too');
    } else if (kw === 'INDEX') {
      out.online = { algorithm: 'INPLACE', lock: 'NONE', rebuild: false, explicit: false };
      out.class = 'backward-compatible';
    }
    return out;
  }
  if (type === 'rename') {
    out.command = 'RENAME TABLE';
    out.class = 'backward-incompatible';
    for (const pair of (ast.table as { db?: string; table?: string }[][] | undefined) ?? []) out.changes.push({ kind: 'rename-table', table: tableName(pair[0]), to: tableName(pair[1]) });
    return out;
  }
  if (type === 'truncate') {
    out.command = 'TRUNCATE';
    out.class = 'data-transformation';
    out.blocks = 'reads-and-writes';
    return out;
  }
  if (type === 'update' || type === 'delete' || type === 'insert' || type === 'replace') {
    out.command = type.toUpperCase();
    out.class = 'data-transformation';
    if ((type === 'update' || type === 'delete') && !ast.where) out.notes.push(`${type.toUpperCase()} without WHERE changes every row in one transaction (row locks on all of them, a long undo log, replication lag)`);
    return out;
  }
  out.command = type.toUpperCase();
  return out;
}

// Splits a PostgreSQL migration file into statements with PostgreSQL's own parser (libpg-query),
// so function bodies, DO blocks and dollar quotes stay whole, and groups them into the units the
// runner sends: transactions, and the statements that must run on their own outside one.
import { loadModule, parseSync } from 'libpg-query';
import { FlightdeckError } from '../../shared/errors';
import { redact } from '../log';

export interface PgStatement {
  /** 0-based position in the file. */
  index: number;
  text: string;
  /** 1-based line where the statement's first token is. */
  line: number;
  /** The parse node's type, e.g. 'AlterTableStmt'. */
  kind: string;
  node: Record<string, unknown>;
  /** Why this statement cannot run inside a transaction block, or must commit before the next. */
  ownTransaction?: string;
  /** BEGIN / COMMIT / ROLLBACK written in the file. */
  control?: 'begin' | 'commit' | 'rollback' | 'other';
}

/** A unit the runner sends: several statements in one transaction, or one that runs alone. */
export interface PgSegment {
  transactional: boolean;
  statements: PgStatement[];
  /** Why the segment stands alone, when it does. */
  reason?: string;
}

let ready: Promise<void> | undefined;
/** The parser is WebAssembly and loads once per process. */
export function loadPostgresParser(): Promise<void> {
  ready ??= loadModule();
  return ready;
}

type ParseResult = { stmts?: { stmt: Record<string, Record<string, unknown>>; stmt_location?: number; stmt_len?: number }[] };

/** Parses a file. A syntax error is a MIGRATION_SYNTAX error naming the file, line and column. */
export function splitPostgres(text: string, file: string, serverVersionNum = 150000): PgStatement[] {
  let parsed: ParseResult;
  try {
    parsed = parseSync(text) as ParseResult;
  } catch (e) {
    const details = (e as { sqlDetails?: { cursorPosition?: number; message?: string } }).sqlDetails;
    // cursorPosition counts characters (code points) from 0, not UTF-16 units: after an emoji a
    // string index would land too early, on the wrong column or even the line before.
    const before = Array.from(text).slice(0, details?.cursorPosition ?? 0).join('');
    const line = before.split('\n').length;
    const column = Array.from(before.slice(before.lastIndexOf('\n') + 1)).length + 1;
    const lineText = text.split('\n')[line - 1]?.trim() ?? '';
    throw new FlightdeckError(
      'MIGRATION_SYNTAX',
      `${file}:${line}:${column}: ${(e as Error).message} (PostgreSQL's parser)\n  ${line} | ${lineText}`,
      `Fix the statement on line ${line} of ${file}; nothing was applied.`,
      { file, line, column },
    );
  }
  // Locations are byte offsets into the UTF-8 text.
  const buf = Buffer.from(text, 'utf8');
  const lineStarts = [0];
  for (let i = 0; i < buf.length; i++) if (buf[i] === 0x0a) lineStarts.push(i + 1);
  const lineOf = (byte: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= byte) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  return (parsed.stmts ?? []).map((s, index) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : buf.length;
    const raw = buf.subarray(start, end).toString('utf8');
    const lead = leadingTrivia(raw);
    const kind = Object.keys(s.stmt)[0]!;
    const node = s.stmt[kind]!;
    const stmt: PgStatement = { index, text: raw.slice(lead).trim(), line: lineOf(start + Buffer.byteLength(raw.slice(0, lead))), kind, node };
    const why = mustRunAlone(kind, node, serverVersionNum);
    if (why) stmt.ownTransaction = why;
    if (kind === 'TransactionStmt') stmt.control = transactionControl(node);
    return stmt;
  });
}

/** Length of the whitespace and comments before the first token (libpg-query's locations start
 * right after the previous semicolon). */
function leadingTrivia(s: string): number {
  let i = 0;
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (s.startsWith('--', i)) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl + 1;
    } else if (s.startsWith('/*', i)) {
      // PostgreSQL block comments nest.
      let depth = 0;
      do {
        if (s.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (s.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < s.length);
    } else return i;
  }
}

function transactionControl(node: Record<string, unknown>): PgStatement['control'] {
  switch (node.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START':
      return 'begin';
    case 'TRANS_STMT_COMMIT':
      return 'commit';
    case 'TRANS_STMT_ROLLBACK':
      return 'rollback';
    default:
      return 'other';
  }
}

const hasOption = (params: unknown, name: string) => Array.isArray(params) && params.some((p) => (p as { DefElem?: { defname?: string } }).DefElem?.defname === name);
const hasConcurrently = (params: unknown) => hasOption(params, 'concurrently');

/**
 * Statements PostgreSQL refuses inside a transaction block ("cannot run inside a transaction
 * block"), and ALTER TYPE … ADD VALUE, whose new value cannot be used before it commits (and which
 * servers before 12 refuse in a transaction).
 */
function mustRunAlone(kind: string, node: Record<string, unknown>, serverVersionNum: number): string | undefined {
  switch (kind) {
    case 'IndexStmt':
      return node.concurrent ? 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block' : undefined;
    case 'DropStmt':
      return node.concurrent ? 'DROP INDEX CONCURRENTLY cannot run inside a transaction block' : undefined;
    case 'ReindexStmt':
      if (hasConcurrently(node.params)) return 'REINDEX CONCURRENTLY cannot run inside a transaction block';
      return node.kind === 'REINDEX_OBJECT_SCHEMA' || node.kind === 'REINDEX_OBJECT_SYSTEM' || node.kind === 'REINDEX_OBJECT_DATABASE'
        ? 'REINDEX SCHEMA/SYSTEM/DATABASE cannot run inside a transaction block'
        : undefined;
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'VACUUM cannot run inside a transaction block' : undefined;
    case 'CreatedbStmt':
    case 'DropdbStmt':
      return 'CREATE/DROP DATABASE cannot run inside a transaction block';
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
      return 'CREATE/DROP TABLESPACE cannot run inside a transaction block';
    case 'AlterDatabaseStmt':
      // Only SET TABLESPACE moves files (and is refused in a transaction); the other options are not.
      return hasOption(node.options, 'tablespace') ? 'ALTER DATABASE SET TABLESPACE cannot run inside a transaction block' : undefined;
    case 'AlterSystemStmt':
      return 'ALTER SYSTEM cannot run inside a transaction block';
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
    case 'AlterSubscriptionStmt':
      return 'subscriptions that create or drop a replication slot cannot run inside a transaction block';
    case 'ClusterStmt':
      return node.relation ? undefined : 'CLUSTER without a table cannot run inside a transaction block';
    case 'AlterEnumStmt':
      if (node.oldVal !== undefined) return undefined; // RENAME VALUE is transactional
      return serverVersionNum < 120000
        ? 'ALTER TYPE … ADD VALUE cannot run inside a transaction block before PostgreSQL 12'
        : 'ALTER TYPE … ADD VALUE commits on its own: the new value cannot be used until it commits';
    case 'AlterTableStmt': {
      const cmds = (node.cmds as { AlterTableCmd?: { subtype?: string; def?: { PartitionCmd?: { concurrent?: boolean } } } }[] | undefined) ?? [];
      return cmds.some((c) => c.AlterTableCmd?.subtype === 'AT_DetachPartition' && c.AlterTableCmd.def?.PartitionCmd?.concurrent)
        ? 'DETACH PARTITION CONCURRENTLY cannot run inside a transaction block'
        : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Groups statements into what the runner sends. Without transaction control in the file, runs of
 * ordinary statements share one transaction and each statement that must run alone gets its own
 * unit. A BEGIN … COMMIT written in the file becomes one transaction (the runner sends its own
 * BEGIN and COMMIT around it). A statement that must run alone inside the file's own BEGIN block is
 * an error the server would raise mid-run, so it is raised before anything runs.
 */
export function segmentPostgres(statements: PgStatement[], file: string): PgSegment[] {
  const segments: PgSegment[] = [];
  let current: PgSegment | null = null;
  let inExplicit = false;
  const flush = () => {
    if (current && current.statements.length) segments.push(current);
    current = null;
  };
  for (const s of statements) {
    if (s.control === 'begin') {
      if (inExplicit) throw syntaxAt(s, file, 'BEGIN inside a transaction the file already began', 'Remove the nested BEGIN.');
      flush();
      inExplicit = true;
      current = { transactional: true, statements: [] };
      continue;
    }
    if (s.control === 'commit') {
      if (!inExplicit) throw syntaxAt(s, file, 'COMMIT without a BEGIN before it in the file', 'Remove the COMMIT or add the BEGIN it closes.');
      flush();
      inExplicit = false;
      continue;
    }
    if (s.control === 'rollback') {
      throw syntaxAt(s, file, 'ROLLBACK written in a migration file would silently undo the statements before it', 'Remove the ROLLBACK; to test a migration without keeping it, use the staging rehearsal.');
    }
    if (s.ownTransaction && inExplicit && !/cannot run inside/.test(s.ownTransaction)) {
      // The file's author chose to keep ADD VALUE in their transaction; the server allows it.
      current!.statements.push(s);
      continue;
    }
    if (s.ownTransaction) {
      if (inExplicit) throw syntaxAt(s, file, `${s.ownTransaction}, and it is inside the file's own BEGIN … COMMIT`, 'Move the statement after the COMMIT (Flightdeck runs it on its own).');
      flush();
      segments.push({ transactional: !/cannot run inside/.test(s.ownTransaction), statements: [s], reason: s.ownTransaction });
      continue;
    }
    current ??= { transactional: true, statements: [] };
    current.statements.push(s);
  }
  if (inExplicit) {
    const last = statements[statements.length - 1]!;
    throw syntaxAt(last, file, 'the file begins a transaction (BEGIN) and never commits it', 'Add COMMIT at the end of the block.');
  }
  flush();
  return segments;
}

function syntaxAt(s: PgStatement, file: string, what: string, hint: string): FlightdeckError {
  return new FlightdeckError('MIGRATION_SYNTAX', `${file}:${s.line}: ${what}.`, `${hint} Nothing was applied.`, { file, line: s.line });
}

/** The first line of a statement, shortened, for logs and records. */
export function statementSummary(text: string, max = 100): string {
  const first = text.split('\n').find((l) => l.trim() && !l.trim().startsWith('--'))?.trim() ?? text.trim();
  // Summaries go into records, journals and logs: a password in the SQL must not.
  const oneLine = redact(first.replace(/\s+/g, ' '));
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

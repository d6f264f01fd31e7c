// Turns a migration file into the units the runner sends, per engine. A unit either runs in one
// transaction (and so takes effect whole or not at all) or is a single statement that runs on its
// own. Everything that can be checked before the first statement runs is checked here.
import type { PinnedSql } from '../connections/adapter';
import { quoteIdent } from '../connections/postgres';
import { FlightdeckError } from '../../shared/errors';
import type { MigrationFile } from './migration-set';
import { segmentPostgres, splitPostgres, statementSummary, type PgStatement } from './split-postgres';
import { splitMysql } from './split-mysql';

export interface UnitStatement {
  index: number;
  line: number;
  text: string;
  summary: string;
}

export interface Unit {
  transactional: boolean;
  statements: UnitStatement[];
  /** Why this unit stands alone. */
  reason?: string;
  /** Undoes what a failed attempt left behind before a retry (an invalid index after a failed
   * CREATE INDEX CONCURRENTLY); returns what it did, for the log. */
  beforeRetry?: (db: PinnedSql) => Promise<string | null>;
}

const toUnitStatement = (s: { index: number; line: number; text: string }): UnitStatement => ({ index: s.index, line: s.line, text: s.text, summary: statementSummary(s.text) });

export function postgresUnits(file: MigrationFile, serverVersionNum: number): Unit[] {
  const statements = splitPostgres(file.text, file.file, serverVersionNum);
  return segmentPostgres(statements, file.file).map((seg) => {
    const unit: Unit = { transactional: seg.transactional, statements: seg.statements.map(toUnitStatement), ...(seg.reason ? { reason: seg.reason } : {}) };
    const only = seg.statements[0]!;
    if (!seg.transactional && only.kind === 'IndexStmt') {
      const cleanup = invalidIndexCleanup(only);
      if (cleanup) unit.beforeRetry = cleanup;
    }
    return unit;
  });
}

/** A CREATE INDEX CONCURRENTLY that fails part-way leaves an INVALID index behind, and the retry
 * would then fail with "already exists". Drop it (concurrently) only when it is invalid. */
function invalidIndexCleanup(s: PgStatement): Unit['beforeRetry'] {
  const name = s.node.idxname as string | undefined;
  if (!name) return undefined;
  const schema = (s.node.relation as { schemaname?: string } | undefined)?.schemaname;
  const qualified = schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
  return async (db) => {
    const r = await db.query<{ valid: boolean | null }>('select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass($1)', [qualified]);
    if (r.length === 0 || r[0]!.valid) return null;
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`);
    return `dropped the invalid index ${qualified} left by the failed attempt`;
  };
}

/** MySQL commits DDL implicitly, so each DDL statement is its own unit; runs of DML share one
 * transaction, so a data change takes effect whole. */
export function mysqlUnits(file: MigrationFile): Unit[] {
  const units: Unit[] = [];
  for (const s of splitMysql(file.text, file.file)) {
    const last = units[units.length - 1];
    if (s.dml && last?.transactional) {
      last.statements.push(toUnitStatement(s));
      continue;
    }
    units.push(s.dml ? { transactional: true, statements: [toUnitStatement(s)] } : { transactional: false, statements: [toUnitStatement(s)], reason: `${s.kind || 'this statement'} commits implicitly in MySQL` });
  }
  return units;
}

/**
 * Asks the server's own parser about every statement without running it: PREPARE parses, and a
 * syntax error (1064) is certain. Other refusals (a table that does not exist yet, a statement
 * PREPARE does not take) mean the syntax itself passed or cannot be checked this way.
 */
export async function preflightMysql(db: PinnedSql, file: MigrationFile, units: Unit[]): Promise<{ unchecked: number }> {
  let unchecked = 0;
  for (const s of units.flatMap((u) => u.statements)) {
    try {
      await db.query('PREPARE flightdeck_preflight FROM ?', [s.text]);
      await db.query('DEALLOCATE PREPARE flightdeck_preflight');
    } catch (e) {
      const err = e as { errno?: number; sqlMessage?: string };
      if (err.errno === 1064 || err.errno === 1149) {
        const at = /at line (\d+)\s*$/.exec(err.sqlMessage ?? '');
        const line = s.line + (at ? Number(at[1]) - 1 : 0);
        throw new FlightdeckError('MIGRATION_SYNTAX', `${file.file}:${line}: ${err.sqlMessage} (the server's parser, statement ${s.index + 1}: ${s.summary})`, `Fix line ${line} of ${file.file}; nothing was applied.`, { file: file.file, line });
      }
      if (err.errno === 1295) unchecked++;
      if (err.errno === undefined) throw e;
    }
  }
  return { unchecked };
}

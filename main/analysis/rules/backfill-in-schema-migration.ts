import { scanSync } from 'libpg-query';
import { statementSummary, type PgStatement } from '../../migrations/split-postgres';
import { relName } from '../postgres-locks';
import { createdBefore, ident, qualified } from './index-without-concurrently';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
  alias?: { aliasname?: string };
}

/** Statements that change the schema (as opposed to data, settings or grants). */
const schemaChanges = new Set([
  'AlterTableStmt',
  'CreateStmt',
  'IndexStmt',
  'DropStmt',
  'RenameStmt',
  'ViewStmt',
  'CreateEnumStmt',
  'AlterEnumStmt',
  'CreateTrigStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'CreateDomainStmt',
  'AlterDomainStmt',
  'CompositeTypeStmt',
  'CreateSchemaStmt',
  'CreateExtensionStmt',
]);

const ddlPerFile = new WeakMap<PgStatement[], PgStatement[]>();

/** The top-level WHERE condition of an UPDATE/DELETE and the text before it, found with
 * PostgreSQL's own lexer (a WHERE inside parentheses belongs to a subquery). */
export function splitWhere(text: string): { head: string; where: string | null } {
  const buf = Buffer.from(text, 'utf8');
  let depth = 0;
  let whereAt = -1;
  let whereEnd = -1;
  let end = buf.length;
  try {
    for (const t of (scanSync(text) as { tokens: { start: number; end: number; text: string }[] }).tokens) {
      if (t.text === '(') depth++;
      else if (t.text === ')') depth--;
      else if (depth === 0 && /^where$/i.test(t.text) && whereAt < 0) {
        whereAt = t.start;
        whereEnd = t.end;
      } else if (depth === 0 && /^returning$/i.test(t.text)) {
        end = t.start;
        break;
      }
    }
  } catch {
    return { head: text, where: null };
  }
  if (whereAt < 0) return { head: buf.subarray(0, end).toString('utf8').trim(), where: null };
  return { head: buf.subarray(0, whereAt).toString('utf8').trim(), where: buf.subarray(whereEnd, end).toString('utf8').trim() };
}

/** A batched copy of the statement keyed by id ranges, in a procedure that commits per batch. */
function batchedPlan(s: PgStatement): string {
  const rel = s.node.relation as RangeVar;
  const name = `backfill_${rel.relname.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  const sourceRel =
    s.kind === 'InsertStmt'
      ? (s.node.selectStmt as { SelectStmt?: { fromClause?: { RangeVar?: RangeVar }[] } } | undefined)?.SelectStmt?.fromClause?.[0]?.RangeVar
      : s.kind === 'MergeStmt'
        ? (s.node.sourceRelation as { RangeVar?: RangeVar } | undefined)?.RangeVar
        : rel;
  const source = sourceRel ? qualified(relName(sourceRel)) : '<source table>';
  let body: string;
  if (s.kind === 'UpdateStmt' || s.kind === 'DeleteStmt') {
    const joined = Boolean(s.node.fromClause ?? s.node.usingClause);
    const key = joined ? `${ident(rel.alias?.aliasname ?? rel.relname)}.id` : 'id';
    const { head, where } = splitWhere(s.text.replace(/;\s*$/, ''));
    body = `    ${head.replace(/\n/g, '\n    ')}\n     WHERE ${key} >= bf_lo AND ${key} < bf_lo + bf_batch${where ? `\n       AND ${where.includes('--') ? `(\n         ${where.replace(/\n/g, '\n         ')}\n       )` : `(${where.replace(/\s*\n\s*/g, ' ')})`}` : ''};`;
  } else {
    const key = sourceRel ? `${ident(sourceRel.alias?.aliasname ?? sourceRel.relname)}.id` : '<source>.id';
    body = `    -- the statement, with "${key} >= bf_lo AND ${key} < bf_lo + bf_batch" added to the WHERE of its ${s.kind === 'MergeStmt' ? 'ON condition' : 'SELECT'}:\n    -- ${s.text.replace(/;\s*$/, '').replace(/\n/g, '\n    -- ')};`;
  }
  return [
    `1) Keep the schema migration to the schema change alone; move ${statementSummary(s.text, 60)} to a data migration of its own that commits per batch:`,
    `CREATE PROCEDURE ${name}(bf_batch int DEFAULT 10000)`,
    'LANGUAGE plpgsql AS $$',
    'DECLARE',
    '  bf_lo bigint;',
    '  bf_hi bigint;',
    'BEGIN',
    `  SELECT min(id), max(id) INTO bf_lo, bf_hi FROM ${source};`,
    '  WHILE bf_lo <= bf_hi LOOP',
    body,
    '    COMMIT;  -- each batch releases its row locks and lets vacuum and the replicas keep up',
    `    RAISE NOTICE '${name}: ids below % of % done', bf_lo + bf_batch, bf_hi;`,
    '    PERFORM pg_sleep(0.05);  -- room for replication to catch up',
    '    bf_lo := bf_lo + bf_batch;',
    '  END LOOP;',
    'END $$;',
    `CALL ${name}();`,
    `DROP PROCEDURE ${name}(int);`,
    '2) Run the CALL from psql in autocommit mode (not psql -1) or a job: a procedure that COMMITs fails ("invalid transaction termination") when called inside a transaction, and migration runners (Flightdeck\'s included) wrap a file\'s statements in one.',
    '3) Keep the WHERE idempotent (e.g. "… IS NULL") so a rerun after an interruption only does the rest; key the ranges by the table\'s primary key if it is not id.',
  ].join('\n');
}

export const backfillInSchemaMigration: Rule = {
  id: 'backfill-in-schema-migration',
  title: 'Data backfill inside a schema migration, or an UPDATE of every row',
  severity: 'warning',
  why: 'A backfill in the same transaction as DDL keeps the DDL\'s lock and a row lock on every changed row until the last row is done: on a large table that is minutes of blocked writes (and of blocked reads, after an ALTER), one long transaction that holds back vacuum, a table\'s worth of dead tuples (bloat), and a burst of WAL that replicas replay as lag. If it fails near the end, all of it rolls back. Batches that commit one at a time keep each of these small.',
  engines: ['postgres'],
  examples: {
    bad: [
      "DO $$ DECLARE r record; BEGIN FOR r IN SELECT id FROM posts LOOP UPDATE posts SET props = '{}' WHERE id = r.id; END LOOP; END $$;",
      "ALTER TABLE users ADD COLUMN status text;\nUPDATE users SET status = 'active' WHERE status IS NULL;",
      "UPDATE orders SET currency = 'EUR';",
      'ALTER TABLE events ADD COLUMN archived boolean;\nDELETE FROM events WHERE created_at < now() - interval \'2 years\';',
      "ALTER TABLE orders ADD COLUMN archived_at timestamptz;\nINSERT INTO orders_archive SELECT * FROM orders WHERE created_at < '2020-01-01';",
    ],
    good: [
      "DO $$ BEGIN RAISE NOTICE 'nothing to change'; END $$;",
      "UPDATE settings SET value = 'on' WHERE key = 'new_checkout';",
      "CREATE TABLE order_statuses (code text PRIMARY KEY, label text NOT NULL);\nINSERT INTO order_statuses (code, label) VALUES ('new', 'New'), ('paid', 'Paid');",
      "UPDATE users SET plan = 'pro' WHERE id IN (SELECT user_id FROM subscriptions WHERE tier = 3);",
      'CREATE TABLE tags (id bigint PRIMARY KEY, name text);\nUPDATE tags SET name = lower(name);',
      'ALTER TABLE users ADD COLUMN status text;',
    ],
  },
  checkStatement(ctx) {
    const { statement: s, statements } = ctx;
    if (s.kind === 'DoStmt') {
      // A backfill written as a DO block: the statements PL/pgSQL runs are in the analysis.
      const tables = [...new Set(ctx.analysis.changes.filter((c) => c.kind === 'dml-in-code').map((c) => c.table))].filter((t) => !ctx.createdEarlier.has(t) && !createdBefore(statements, ctx.index).tables.has(t));
      if (tables.length === 0) return [];
      return [
        {
          message: `The DO block changes rows of ${tables.join(', ')} in one transaction${ctx.analysis.notes.some((n) => /in a loop/.test(n)) ? ', in a loop' : ''}: every changed row stays locked until it commits, and nothing shows its progress.`,
          rewrite: 'Move the data change out of the schema migration into a batched job: a loop over primary-key ranges that commits each batch (a PROCEDURE with COMMIT, CALLed outside a transaction, or a script), logging progress, resumable from the last committed key.',
        },
      ];
    }
    if (!['UpdateStmt', 'DeleteStmt', 'InsertStmt', 'MergeStmt'].includes(s.kind)) return [];
    const table = relName(s.node.relation as RangeVar);
    if (ctx.createdEarlier.has(table) || createdBefore(statements, ctx.index).tables.has(table)) return [];
    if (s.kind === 'InsertStmt') {
      const select = (s.node.selectStmt as { SelectStmt?: { fromClause?: unknown[] } } | undefined)?.SelectStmt;
      if (!select?.fromClause) return []; // VALUES or a single computed row: seed data, not a backfill
    }
    const verb = s.kind === 'InsertStmt' ? 'INSERT … SELECT' : s.kind.replace('Stmt', '').toUpperCase();
    let ddl = ddlPerFile.get(statements);
    if (!ddl) ddlPerFile.set(statements, (ddl = statements.filter((x) => schemaChanges.has(x.kind))));
    if (ddl.length > 0) {
      const first = ddl[0]!;
      return [
        {
          message: `${verb} ${s.kind === 'InsertStmt' ? 'into' : 'on'} ${table} in a file that also changes the schema (${statementSummary(first.text, 60)}, line ${first.line}${ddl.length > 1 ? `, and ${ddl.length - 1} more` : ''}): one transaction holds the DDL's lock and every changed row's lock until the whole backfill commits.`,
          rewrite: batchedPlan(s),
        },
      ];
    }
    if (s.kind === 'UpdateStmt' && !s.node.whereClause) {
      return [
        {
          message: `UPDATE ${table} without WHERE rewrites every row of ${table} in one transaction: every row stays locked for writers until it commits, the table doubles in dead tuples, and replicas lag by its whole WAL.`,
          rewrite: batchedPlan(s),
        },
      ];
    }
    return [];
  },
};


import { segmentPostgres, statementSummary, type PgStatement } from '../../migrations/split-postgres';
import type { StaticAnalysis } from '../postgres-locks';
import { createdBefore, isNew, sqlOf } from './index-without-concurrently';
import type { Rule } from './rule';

/** The statements the runner sends in one transaction with statement `index` (itself included),
 * or [] when it runs alone. */
function transactionOf(statements: PgStatement[], file: string, index: number): PgStatement[] {
  try {
    const seg = segmentPostgres(statements, file).find((x) => x.statements.some((s) => s.index === index));
    return seg && seg.transactional && seg.statements.length > 1 ? seg.statements : [];
  } catch {
    // A file the runner refuses: concurrently-in-transaction and transaction-control-in-file say why.
    return [];
  }
}

const dml = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** Why statement `s` lengthens a transaction that already holds ACCESS EXCLUSIVE on `held`, or
 * undefined when it is quick catalogue work (SET, COMMENT, a new table, another metadata change). */
function realWork(s: PgStatement, a: StaticAnalysis, statements: PgStatement[], held: string[]): string | undefined {
  const created = createdBefore(statements, s.index);
  const existing = (t: string) => !isNew(t, created);
  const what = `${statementSummary(s.text, 60)} (line ${s.line})`;
  if (dml.has(s.kind)) {
    const target = a.locks[0]?.table;
    const fromQuery = s.kind === 'InsertStmt' && Boolean((s.node.selectStmt as { SelectStmt?: { fromClause?: unknown[] } } | undefined)?.SelectStmt?.fromClause);
    if ((target && existing(target)) || fromQuery) return `${what}: a data change`;
  }
  if (s.kind === 'IndexStmt' && a.locks.some((l) => existing(l.table))) return `${what}: an index build`;
  if (s.kind === 'CreateTableAsStmt') return `${what}: copies rows`;
  if (s.kind === 'DoStmt' || s.kind === 'CallStmt') return `${what}: runs code of unknown length`;
  const rewritten = a.rewrites.filter(existing);
  if (rewritten.length) return `${what}: rewrites ${rewritten.join(', ')}`;
  const scanned = a.scans.filter(existing);
  if (scanned.length) return `${what}: scans ${scanned.join(', ')}`;
  const others = a.locks.filter((l) => existing(l.table) && !held.includes(l.table)).map((l) => l.table);
  if (others.length) return `${what}: locks ${others.join(', ')} too (it may wait for it, and deadlock)`;
  return undefined;
}

export const workAfterAccessExclusive: Rule = {
  id: 'work-after-access-exclusive',
  title: 'More work after an ACCESS EXCLUSIVE lock in the same transaction',
  severity: 'warning',
  why: 'A lock is held until the transaction ends, not until the statement that took it ends. Once a statement has ACCESS EXCLUSIVE on a table, every read and write of that table waits for COMMIT, so each data change, index build, validation or other table\'s lock after it in the same transaction adds its full duration to the outage, instead of the milliseconds the DDL itself needs.',
  engines: ['postgres'],
  examples: {
    bad: [
      "ALTER TABLE users ADD COLUMN status text;\nUPDATE users SET status = 'active' WHERE status IS NULL;",
      'ALTER TABLE orders ADD COLUMN region text;\nCREATE INDEX orders_region_idx ON orders (region);',
      'BEGIN;\nALTER TABLE accounts RENAME COLUMN name TO display_name;\nALTER TABLE invoices ADD CONSTRAINT invoices_total_check CHECK (total >= 0);\nCOMMIT;',
    ],
    good: [
      "UPDATE users SET status = 'active' WHERE status IS NULL AND id < 1000;\nALTER TABLE users ALTER COLUMN status SET DEFAULT 'active';",
      "ALTER TABLE orders ADD COLUMN region text;\nCOMMENT ON COLUMN orders.region IS 'ISO 3166 code';",
      'CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric);\nALTER TABLE invoices ADD COLUMN paid_at timestamptz;\nCREATE INDEX invoices_paid_at_idx ON invoices (paid_at);',
      'ALTER TABLE orders ADD COLUMN region text;\nCREATE INDEX CONCURRENTLY orders_region_idx ON orders (region);',
    ],
  },
  checkStatement(ctx) {
    const { statement: s, statements, analyses } = ctx;
    const created = createdBefore(statements, ctx.index);
    const held = ctx.analysis.locks.filter((l) => l.lock === 'AccessExclusiveLock' && !ctx.createdEarlier.has(l.table) && !isNew(l.table, created)).map((l) => l.table);
    if (held.length === 0) return [];
    const tx = transactionOf(statements, ctx.file.file, ctx.index);
    const later = tx.filter((x) => x.index > ctx.index);
    const work = later.map((x) => realWork(x, analyses[x.index]!, statements, held)).filter((w): w is string => Boolean(w));
    if (work.length === 0) return [];
    const tables = held.map((t) => t.replace(/ \(index\)$/, '')).join(', ');
    const laterWork = later.filter((x) => realWork(x, analyses[x.index]!, statements, held));
    return [
      {
        message: `${ctx.analysis.command} takes ACCESS EXCLUSIVE on ${tables}, held until COMMIT, and ${work.length} later statement${work.length === 1 ? '' : 's'} in the same transaction do${work.length === 1 ? 'es' : ''} real work while every query on ${tables} waits: ${work.join('; ')}.`,
        rewrite: [
          'Either take the lock last, when the later work does not depend on it:',
          ...laterWork.map(sqlOf),
          `${sqlOf(s)}  -- last: the lock is held only for its own milliseconds`,
          '',
          'or split it: this statement in a migration (a transaction) of its own,',
          sqlOf(s),
          `and the rest in the next migration, where ${tables} is no longer locked while it runs (a data change in batches, an index build with CONCURRENTLY):`,
          ...laterWork.map(sqlOf),
        ].join('\n'),
      },
    ];
  },
};

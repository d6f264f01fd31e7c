import { segmentPostgres, statementSummary, type PgSegment, type PgStatement } from '../../migrations/split-postgres';
import type { StaticAnalysis } from '../postgres-locks';
import { createdBefore, isNew, sqlOf } from './index-without-concurrently';
import type { Rule } from './rule';

/** The statements the runner sends in one transaction with statement `index` (itself included),
 * or [] when it runs alone. */
const segmentsPerFile = new WeakMap<PgStatement[], PgSegment[]>();
function transactionOf(statements: PgStatement[], file: string, index: number): PgStatement[] {
  let segments = segmentsPerFile.get(statements);
  if (!segments) {
    try {
      segments = segmentPostgres(statements, file);
    } catch {
      // A file the runner refuses: concurrently-in-transaction and transaction-control-in-file say why.
      segments = [];
    }
    segmentsPerFile.set(statements, segments);
  }
  const seg = segments.find((x) => x.statements.some((s) => s.index === index));
  return seg && seg.transactional && seg.statements.length > 1 ? seg.statements : [];
}

const dml = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** Why statement `s` lengthens a transaction that already holds ACCESS EXCLUSIVE on `held`, or
 * undefined when it is quick catalogue work (SET, COMMENT, a new table, another metadata change). */
function realWork(s: PgStatement, a: StaticAnalysis, statements: PgStatement[], held: string[]): string | undefined {
  const created = createdBefore(statements, s.index);
  const existing = (t: string) => !isNew(t, created);
  if (dml.has(s.kind)) {
    const target = a.locks[0]?.table;
    const fromQuery = s.kind === 'InsertStmt' && Boolean((s.node.selectStmt as { SelectStmt?: { fromClause?: unknown[] } } | undefined)?.SelectStmt?.fromClause);
    if ((target && existing(target)) || fromQuery) return 'a data change';
  }
  if (s.kind === 'IndexStmt' && a.locks.some((l) => existing(l.table))) return 'an index build';
  if (s.kind === 'CreateTableAsStmt') return 'copies rows';
  if (s.kind === 'DoStmt' || s.kind === 'CallStmt') return 'runs code of unknown length';
  // A scan or rewrite under its own ACCESS EXCLUSIVE on the same table would block it just as long
  // in a transaction of its own: not this rule's business (the rewrite and scan rules say it).
  const ownAE = (t: string) => held.includes(t) && a.locks.some((l) => l.table === t && l.lock === 'AccessExclusiveLock');
  const rewritten = a.rewrites.filter((t) => existing(t) && !ownAE(t));
  if (rewritten.length) return `rewrites ${rewritten.join(', ')}`;
  const scanned = a.scans.filter((t) => existing(t) && !ownAE(t));
  if (scanned.length) return `scans ${scanned.join(', ')}`;
  // Dropping an index, a trigger or a table is catalog work: quick once the lock is granted. An
  // index's table is not known statically ("name (index)"), so it cannot be told apart from the held one.
  if (s.kind === 'DropStmt') return undefined;
  const others = a.locks.filter((l) => existing(l.table) && !held.includes(l.table) && !l.table.endsWith(' (index)')).map((l) => l.table);
  if (others.length) return `locks ${others.join(', ')} too (it may wait for it, and deadlock)`;
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
    // A dropped table, view or sequence is gone: whoever still uses it fails anyway (another rule's
    // concern), and nobody queues on it. DROP INDEX and DROP TRIGGER lock a table that stays.
    const dropsIt = s.kind === 'DropStmt' && s.node.removeType !== 'OBJECT_INDEX' && s.node.removeType !== 'OBJECT_TRIGGER';
    if (dropsIt) return [];
    let held = ctx.analysis.locks.filter((l) => l.lock === 'AccessExclusiveLock' && !ctx.createdEarlier.has(l.table) && !isNew(l.table, created)).map((l) => l.table);
    if (held.length === 0) return [];
    const tx = transactionOf(statements, ctx.file.file, ctx.index);
    // Only the statement that first takes the lock in the transaction is reported: after it, the
    // table is held anyway.
    const heldBefore = (t: string) => tx.some((x) => x.index < ctx.index && analyses[x.index]!.locks.some((l) => l.table === t && l.lock === 'AccessExclusiveLock'));
    held = held.filter((t) => !heldBefore(t));
    if (held.length === 0) return [];
    const work = tx.filter((x) => x.index > ctx.index).flatMap((x) => {
      const why = realWork(x, analyses[x.index]!, statements, held);
      return why ? [{ statement: x, why }] : [];
    });
    if (work.length === 0) return [];
    const tables = held.map((t) => t.replace(/ \(index\)$/, '')).join(', ');
    // A transaction can hold thousands of statements: name the first few.
    const shown = work.slice(0, 5);
    const more = work.length > shown.length ? [`-- … and the ${work.length - shown.length} other statements that do work after it`] : [];
    const listed = shown.map((w) => `${statementSummary(w.statement.text, 60)} (line ${w.statement.line}): ${w.why}`).join('; ');
    // Work on the locked table itself usually needs the change (an UPDATE of the new column): it
    // cannot move before it, only out of its transaction.
    const dependent = work.some((w) => analyses[w.statement.index]!.locks.some((l) => held.includes(l.table)));
    const split = [
      'Split it: this statement in a migration (a transaction) of its own:',
      sqlOf(s),
      `and the rest in the next migration, where ${tables} is no longer locked while it runs (a data change in batches, an index build with CONCURRENTLY):`,
      ...shown.map((w) => sqlOf(w.statement)),
      ...more,
    ];
    const reorder = ['Or take the lock last, since the later work does not depend on it:', ...shown.map((w) => sqlOf(w.statement)), ...more, `${sqlOf(s)}  -- last: the lock is held only for its own milliseconds`];
    return [
      {
        message: `${ctx.analysis.command} takes ACCESS EXCLUSIVE on ${tables}, held until COMMIT, and ${work.length} later statement${work.length === 1 ? '' : 's'} in the same transaction do${work.length === 1 ? 'es' : ''} real work while every query on ${tables} waits: ${listed}${more.length ? `; and ${work.length - shown.length} more` : ''}.`,
        rewrite: [...split, ...(dependent ? [] : ['', ...reorder])].join('\n'),
      },
    ];
  },
};

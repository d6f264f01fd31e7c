import { statementSummary } from '../../migrations/split-postgres';
import { explicitBlockOf, sqlOf } from './index-without-concurrently';
import type { Rule } from './rule';

/** Statements PostgreSQL refuses inside a transaction block: the CONCURRENTLY forms, VACUUM, … */
const refusesTransaction = (reason: string | undefined) => Boolean(reason && /cannot run inside/.test(reason));

export const concurrentlyInTransaction: Rule = {
  id: 'concurrently-in-transaction',
  title: 'CONCURRENTLY (or another statement that refuses a transaction block) run inside a transaction',
  severity: 'error',
  why: 'CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY and VACUUM fail with "cannot run inside a transaction block" (or "cannot be executed from a multi-command string"). Inside the file\'s own BEGIN … COMMIT every tool fails there, after the statements before it have run; in a file with other statements, tools that send the file as one query or wrap it in a transaction fail too.',
  engines: ['postgres'],
  examples: {
    bad: [
      'BEGIN;\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX CONCURRENTLY orders_shipped_at_idx ON orders (shipped_at);\nCOMMIT;',
      'BEGIN;\nDROP INDEX CONCURRENTLY IF EXISTS orders_legacy_idx;\nCOMMIT;',
      'ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX CONCURRENTLY orders_shipped_at_idx ON orders (shipped_at);',
    ],
    good: [
      'CREATE INDEX CONCURRENTLY orders_shipped_at_idx ON orders (shipped_at);',
      'BEGIN;\nCREATE INDEX orders_shipped_at_idx ON orders (shipped_at);\nCOMMIT;',
      'REINDEX INDEX CONCURRENTLY orders_created_at_idx;',
    ],
  },
  checkStatement(ctx) {
    const { statement: s, statements, index } = ctx;
    if (!refusesTransaction(s.ownTransaction)) return [];
    const what = statementSummary(s.text, 80);
    const block = explicitBlockOf(statements, index);
    if (block) {
      const commit = statements.slice(index + 1).find((x) => x.control === 'commit' || x.control === 'rollback');
      const others = statements.slice(block.index + 1, commit ? commit.index : statements.length).filter((x) => x !== s);
      return [
        {
          message: `${what} is inside the file's own BEGIN (line ${block.line}) … COMMIT${commit ? ` (line ${commit.line})` : ''}: ${s.ownTransaction}, so it fails with every tool, after the statements before it in the block have run. Flightdeck refuses to start this file.`,
          rewrite: others.length
            ? `${sqlOf(block)}\n${others.map(sqlOf).join('\n')}\nCOMMIT;\n${sqlOf(s)}  -- after the COMMIT, on its own (Flightdeck runs it outside any transaction)`
            : `${sqlOf(s)}  -- without the BEGIN and COMMIT around it: it is the whole block`,
        },
      ];
    }
    const others = statements.filter((x) => x !== s);
    if (others.length === 0) return [];
    return [
      {
        severity: 'info',
        message: `${what} shares its file with ${others.length} other statement${others.length === 1 ? '' : 's'}. Flightdeck runs it on its own, outside the transaction of the others; golang-migrate sends the whole file as one multi-statement query (an implicit transaction) and psql -1 wraps the file in BEGIN … COMMIT, so with those tools it fails: ${s.ownTransaction}.`,
        rewrite: `Give it a migration file of its own, so any tool runs it outside a transaction:\n${sqlOf(s)}\n-- and keep the other ${others.length} statement${others.length === 1 ? '' : 's'} in the migration before or after it.`,
      },
    ];
  },
};

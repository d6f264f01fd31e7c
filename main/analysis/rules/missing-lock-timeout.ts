import { pgLockNames, type PgLockMode } from '../../../shared/plan';
import type { PgStatement } from '../../migrations/split-postgres';
import type { StaticAnalysis } from '../postgres-locks';
import { createdBefore, isNew, sqlOf } from './index-without-concurrently';
import type { Rule } from './rule';

/** Modes that queue the application behind them: writes at least, and so everything after them. */
const queueing: PgLockMode[] = ['AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock'];

interface SetNode {
  kind?: string;
  name?: string;
  is_local?: boolean;
  args?: { A_Const?: { ival?: { ival?: number }; fval?: { fval?: string }; sval?: { sval?: string } } }[];
}

/** What a SET/RESET does to lock_timeout: 'on' (a positive value), 'off' (0, DEFAULT, RESET), or
 * nothing. `lock_timeout = 0` means wait forever, as does the default. */
function lockTimeoutChange(s: PgStatement): { to: 'on' | 'off'; local: boolean } | undefined {
  if (s.kind !== 'VariableSetStmt') return undefined;
  const n = s.node as SetNode;
  const local = Boolean(n.is_local);
  if (n.kind === 'VAR_RESET_ALL') return { to: 'off', local };
  if (String(n.name).toLowerCase() !== 'lock_timeout') return undefined;
  if (n.kind !== 'VAR_SET_VALUE') return { to: 'off', local };
  const c = n.args?.[0]?.A_Const;
  const value = c?.ival ? (c.ival.ival ?? 0) : c?.fval ? Number.parseFloat(c.fval.fval ?? '0') : Number.parseFloat(c?.sval?.sval ?? '0');
  return { to: value > 0 ? 'on' : 'off', local };
}

/** The first statement of the file that takes a queueing lock on something that exists with no
 * lock_timeout in force, and that lock; -1 when there is none. A SET LOCAL lasts until the
 * transaction it ran in commits: the file's COMMIT, or a statement the runner sends on its own. */
type Unguarded = { index: number; locks: { table: string; lock: PgLockMode }[] } | undefined;
const firstPerFile = new WeakMap<PgStatement[], Unguarded>();

export function firstUnguardedLock(statements: PgStatement[], analyses: StaticAnalysis[]): Unguarded {
  if (firstPerFile.has(statements)) return firstPerFile.get(statements);
  const first = findFirstUnguardedLock(statements, analyses);
  firstPerFile.set(statements, first);
  return first;
}

function findFirstUnguardedLock(statements: PgStatement[], analyses: StaticAnalysis[]): Unguarded {
  let session = false;
  let local = false;
  let inBlock = false;
  for (const [i, s] of statements.entries()) {
    if (s.control === 'begin') inBlock = true;
    if (s.control === 'commit' || s.control === 'rollback') {
      inBlock = false;
      local = false;
    }
    if (s.ownTransaction && /cannot run inside/.test(s.ownTransaction) && !inBlock) local = false;
    const change = lockTimeoutChange(s);
    if (change) {
      if (change.local) local = change.to === 'on';
      else {
        session = change.to === 'on';
        // A session SET also replaces an earlier SET LOCAL for the rest of the transaction.
        local = false;
      }
      continue;
    }
    if (session || local) continue;
    const created = createdBefore(statements, i);
    const locks = (analyses[i]?.locks ?? []).filter((l) => queueing.includes(l.lock) && !isNew(l.table, created));
    if (locks.length) return { index: i, locks };
  }
  return undefined;
}

export const missingLockTimeout: Rule = {
  id: 'missing-lock-timeout',
  title: 'Strong lock taken with no lock_timeout',
  severity: 'warning',
  why: 'A statement that needs ACCESS EXCLUSIVE, EXCLUSIVE, SHARE ROW EXCLUSIVE or SHARE first waits for every transaction already using the table, and while it waits every new query that conflicts with it queues behind it: one long-running report turns a 10 ms ALTER into a full outage of the table. lock_timeout makes the DDL give up (and retry later) instead of holding the queue.',
  engines: ['postgres'],
  examples: {
    bad: [
      'ALTER TABLE orders ADD COLUMN shipped_at timestamptz;',
      'ALTER TABLE order_items ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) NOT VALID;',
      "SET lock_timeout = 0;\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    ],
    good: [
      "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;",
      'CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric NOT NULL);\nALTER TABLE invoices ADD COLUMN paid_at timestamptz;\nCREATE INDEX invoices_paid_at_idx ON invoices (paid_at);',
      'CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);',
      "UPDATE settings SET value = 'on' WHERE key = 'new_checkout';",
    ],
  },
  checkStatement(ctx) {
    // One finding per file, at the first statement that needs it.
    const first = firstUnguardedLock(ctx.statements, ctx.analyses);
    const locks = first?.locks.filter((l) => !ctx.createdEarlier.has(l.table)) ?? [];
    if (!first || first.index !== ctx.index || locks.length === 0) return [];
    const name = (t: string) => (t.endsWith(' (index)') ? `the table of index ${t.replace(/ \(index\)$/, '')}` : t);
    const taken = locks.map((l) => `${pgLockNames[l.lock]} on ${name(l.table)}`).join(' and ');
    const on = locks.map((l) => name(l.table)).join(' and ');
    return [
      {
        message: `${ctx.analysis.command} takes ${taken} with no lock_timeout set earlier in the file. Flightdeck's runner sets lock_timeout itself (200 ms by default, --lock-timeout) and retries; run by psql, golang-migrate or another tool, it would wait behind any long transaction on ${on} while every query on ${locks.length === 1 ? 'it' : 'them'} queues behind the waiting DDL.`,
        rewrite: `SET lock_timeout = '2s';\n${sqlOf(ctx.statement)}\n-- At the top of the file, before the first strong lock. If it times out (SQLSTATE 55P03), nothing is held: run the migration again a little later.`,
      },
    ];
  },
};

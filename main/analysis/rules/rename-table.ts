import { relName } from '../postgres-locks';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
}

/** The name a RENAME TO gives (with the renamed table's schema). */
function newName(s: { kind: string; node: Record<string, unknown> }): string | undefined {
  if (s.kind !== 'RenameStmt' || s.node.renameType !== 'OBJECT_TABLE') return undefined;
  const r = s.node.relation as RangeVar;
  return relName({ schemaname: r.schemaname, relname: String(s.node.newname) });
}

/** Whether an earlier statement in the file renamed a table away from `name`: this rename is the
 * second half of a swap (a shadow table built for it takes the live name). */
function nameVacated(statements: { kind: string; node: Record<string, unknown> }[], before: number, name: string): boolean {
  return statements.slice(0, before).some((s) => s.kind === 'RenameStmt' && s.node.renameType === 'OBJECT_TABLE' && relName(s.node.relation as RangeVar) === name);
}

/** Whether a later statement in the file puts a relation back under `name` (a view with the old
 * name, or the second half of a table swap), so code using the old name keeps working. */
function nameReused(statements: { kind: string; node: Record<string, unknown> }[], from: number, name: string): boolean {
  return statements.slice(from).some((s) => {
    if (s.kind === 'ViewStmt') return relName(s.node.view as RangeVar) === name;
    if (s.kind === 'CreateStmt') return relName(s.node.relation as RangeVar) === name;
    return newName(s) === name;
  });
}

export const renameTable: Rule = {
  id: 'rename-table',
  title: 'Table renamed while the application uses the old name',
  severity: 'error',
  why: 'A rename is instant, but every running instance of the application still queries the old name and fails with "relation does not exist" from the moment it commits until the last old instance is gone; a rolling deploy cannot make old and new code agree on one name. Views, foreign keys and indexes follow it (they refer to the table by OID); PL/pgSQL function bodies, application SQL, ORM models, reports and ETL jobs do not.',
  engines: ['postgres', 'mysql'],
  examples: {
    bad: [
      'ALTER TABLE customers RENAME TO accounts;',
      'ALTER TABLE IF EXISTS billing.invoice RENAME TO invoices;\nALTER INDEX billing.invoice_pkey RENAME TO invoices_pkey;',
    ],
    good: [
      'ALTER TABLE customers RENAME TO accounts;\nCREATE VIEW customers AS SELECT * FROM accounts;',
      'CREATE TABLE events_new (LIKE events INCLUDING ALL);\nALTER TABLE events_new RENAME TO events_v2;',
      'BEGIN;\nALTER TABLE events RENAME TO events_old;\nALTER TABLE events_rebuilt RENAME TO events;\nCOMMIT;',
      'ALTER SEQUENCE invoice_seq RENAME TO invoices_id_seq;',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'RenameStmt' || ctx.statement.node.renameType !== 'OBJECT_TABLE') return [];
    const rel = ctx.statement.node.relation as RangeVar;
    const from = relName(rel);
    if (ctx.createdEarlier.has(from)) return [];
    if (nameReused(ctx.statements, ctx.index + 1, from)) return [];
    const to = String(ctx.statement.node.newname);
    const toFull = newName(ctx.statement)!;
    if (nameVacated(ctx.statements, ctx.index, toFull)) return [];
    return [
      {
        message: `Renames table ${from} to ${to} in one step: running code that still queries ${from} fails as soon as it commits.`,
        rewrite: [
          `Leave the old name in place until no code uses it:`,
          `1) In one transaction: ALTER TABLE ${from} RENAME TO ${to}; CREATE VIEW ${from} AS SELECT * FROM ${toFull};  -- a simple view is updatable: old code's SELECT, INSERT, UPDATE and DELETE keep working`,
          `2) Deploy code that uses ${to}; release and watch.`,
          `3) In a later migration: DROP VIEW ${from};`,
        ].join('\n'),
      },
    ];
  },
  checkMysqlStatement(ctx) {
    return (ctx.analysis?.changes ?? [])
      .filter((c) => c.kind === 'rename-table' && !ctx.createdEarlier.has(c.table))
      .map((c) => ({
        message: `Renames table ${c.table} to ${c.to} while running code still uses ${c.table}.`,
        rewrite: `Rename and leave an updatable view with the old name for one release: RENAME TABLE ${c.table} TO ${c.to}; CREATE VIEW ${c.table} AS SELECT * FROM ${c.to}; then deploy code that uses ${c.to} and drop the view a release later.`,
      }));
  },
};

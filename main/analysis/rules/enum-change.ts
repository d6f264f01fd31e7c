import type { Rule } from './rule';

const nameOf = (list: unknown) =>
  ((list as { String?: { sval?: string } }[] | undefined) ?? [])
    .map((p) => p.String?.sval ?? '')
    .filter((p, i, all) => !(p === 'public' && i === 0 && all.length > 1))
    .join('.');

const quote = (label: string) => `'${label.replace(/'/g, "''")}'`;

export const enumChange: Rule = {
  id: 'enum-change',
  title: 'Enum label added or renamed',
  severity: 'warning',
  why: 'PostgreSQL has no ALTER TYPE … DROP VALUE: once a label is added, the only way back is to rebuild the type and convert every column that uses it, which rewrites those tables under ACCESS EXCLUSIVE. Before PostgreSQL 12, ADD VALUE cannot run inside a transaction block at all; from 12 on, the new label cannot be used until the transaction that added it commits. RENAME VALUE is instant, but running code that writes the old label then fails with "invalid input value for enum", and code comparing with it silently matches nothing.',
  engines: ['postgres'],
  examples: {
    bad: [
      "ALTER TYPE order_status ADD VALUE 'refunded';",
      "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'on_hold' BEFORE 'shipped';",
      "ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';",
    ],
    good: [
      "CREATE TYPE ticket_priority AS ENUM ('low', 'normal', 'high');\nALTER TYPE ticket_priority ADD VALUE 'urgent';",
      "CREATE TABLE order_statuses (code text PRIMARY KEY);\nINSERT INTO order_statuses (code) VALUES ('refunded');",
      'ALTER TYPE order_status RENAME TO order_state;',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'AlterEnumStmt') return [];
    const n = ctx.statement.node;
    const type = nameOf(n.typeName);
    // A type created earlier in this file is new: no code uses it and nothing needs to roll back.
    if (ctx.statements.slice(0, ctx.index).some((s) => s.kind === 'CreateEnumStmt' && nameOf(s.node.typeName) === type)) return [];
    const label = String(n.newVal);
    if (n.oldVal !== undefined) {
      const old = String(n.oldVal);
      return [
        {
          severity: 'error',
          message: `Renames label ${quote(old)} of enum ${type} to ${quote(label)}: running code that still writes ${quote(old)} fails with "invalid input value for enum ${type}" as soon as it commits.`,
          rewrite: [
            `Expand, migrate, contract:`,
            `1) In its own migration: ALTER TYPE ${type} ADD VALUE IF NOT EXISTS ${quote(label)} AFTER ${quote(old)};`,
            `2) Deploy code that reads both labels as the same state and writes ${quote(label)}.`,
            `3) Backfill in batches, one transaction each, for every column of type ${type}: UPDATE <table> SET <column> = ${quote(label)} WHERE <column> = ${quote(old)} AND id BETWEEN :lo AND :hi;`,
            `4) Deploy code that no longer knows ${quote(old)}. The label stays in the type, unused (a CHECK (<column> <> ${quote(old)}) keeps it out), unless you rebuild the type.`,
          ].join('\n'),
        },
      ];
    }
    return [
      {
        message: `Adds label ${quote(label)} to enum ${type}: it cannot be removed again, so the down must rebuild ${type}; the label cannot be used before this commits, and before PostgreSQL 12 the statement cannot run inside a transaction.`,
        rewrite: [
          `Keep the ADD VALUE alone in its migration (Flightdeck runs it in its own transaction; before PostgreSQL 12 it must run outside one):`,
          `   ALTER TYPE ${type} ADD VALUE IF NOT EXISTS ${quote(label)};`,
          `Deploy code that writes ${quote(label)} only after that migration committed.`,
          `Write the down as a rebuild, since there is no DROP VALUE (or declare the migration one-way):`,
          `1) UPDATE <table> SET <column> = <another label> WHERE <column> = ${quote(label)};`,
          `2) CREATE TYPE ${type}_old AS ENUM (<the labels before this migration>);`,
          `3) ALTER TABLE <table> ALTER COLUMN <column> TYPE ${type}_old USING <column>::text::${type}_old;  -- rewrites <table> under ACCESS EXCLUSIVE; drop and recreate defaults and indexes that use the type`,
          `4) DROP TYPE ${type}; ALTER TYPE ${type}_old RENAME TO ${type.split('.').pop()};`,
          `If the set of labels keeps changing, a lookup table with a foreign key (or a text column with a CHECK) is cheaper to change in both directions.`,
        ].join('\n'),
      },
    ];
  },
};

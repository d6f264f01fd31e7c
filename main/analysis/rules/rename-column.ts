import { relName } from '../postgres-locks';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
}

export const renameColumn: Rule = {
  id: 'rename-column',
  title: 'Column renamed while the application uses the old name',
  severity: 'error',
  why: 'A rename is instant, but every running instance of the application still says the old name: its queries fail from the moment the rename commits until the last old instance is gone, and a rolling deploy cannot make old and new code agree on one name. Views, indexes and constraints follow the rename; PL/pgSQL function and trigger bodies, application SQL, ORM mappings, reports and logical-replication subscribers do not.',
  engines: ['postgres', 'mysql'],
  examples: {
    bad: [
      'ALTER TABLE users RENAME COLUMN fullname TO display_name;',
      "ALTER TABLE orders RENAME COLUMN shipped TO shipped_at;\nCOMMENT ON COLUMN orders.shipped_at IS 'when the carrier picked the parcel up';",
    ],
    good: [
      'CREATE TABLE invoices (id bigint PRIMARY KEY, amt numeric(12,2));\nALTER TABLE invoices RENAME COLUMN amt TO amount;',
      'ALTER TABLE users ADD COLUMN display_name text;',
      'ALTER INDEX users_fullname_idx RENAME TO users_display_name_idx;',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'RenameStmt') return [];
    const n = ctx.statement.node;
    if (n.renameType !== 'OBJECT_COLUMN' || n.relationType !== 'OBJECT_TABLE') return [];
    const table = relName(n.relation as RangeVar);
    if (ctx.createdEarlier.has(table)) return [];
    const from = String(n.subname);
    const to = String(n.newname);
    const fn = `${table.split('.').pop()}_sync_${to}`;
    return [
      {
        message: `Renames column ${table}.${from} to ${to} in one step: running code that still uses ${from} fails as soon as it commits.`,
        rewrite: [
          `Expand, migrate, contract:`,
          `1) ALTER TABLE ${table} ADD COLUMN ${to} <the type of ${from}>;`,
          `2) Keep both columns in step while old and new code run:`,
          `   CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$`,
          `   BEGIN`,
          `     IF TG_OP = 'INSERT' THEN NEW.${to} := COALESCE(NEW.${to}, NEW.${from}); NEW.${from} := COALESCE(NEW.${from}, NEW.${to});`,
          `     ELSIF NEW.${from} IS DISTINCT FROM OLD.${from} THEN NEW.${to} := NEW.${from};`,
          `     ELSIF NEW.${to} IS DISTINCT FROM OLD.${to} THEN NEW.${from} := NEW.${to};`,
          `     END IF;`,
          `     RETURN NEW;`,
          `   END $$;`,
          `   CREATE TRIGGER ${fn} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}();`,
          `3) Backfill in batches, one transaction each: UPDATE ${table} SET ${to} = ${from} WHERE id BETWEEN :lo AND :hi AND ${to} IS DISTINCT FROM ${from};`,
          `4) Deploy code that reads and writes ${to} only; release and watch.`,
          `5) In a later migration: DROP TRIGGER ${fn} ON ${table}; DROP FUNCTION ${fn}(); ALTER TABLE ${table} DROP COLUMN ${from};`,
        ].join('\n'),
      },
    ];
  },
  checkMysqlStatement(ctx) {
    return (ctx.analysis?.changes ?? [])
      .filter((c) => c.kind === 'rename-column' && !ctx.createdEarlier.has(c.table))
      .map((c) => ({
        message: `Renames ${c.table}.${c.column} to ${c.to} while running code still uses ${c.column}.`,
        rewrite: `Expand-contract: 1) ALTER TABLE ${c.table} ADD COLUMN ${c.to} <same type>, ALGORITHM=INSTANT; 2) triggers (BEFORE INSERT and BEFORE UPDATE) copy whichever column a writer changed into the other; 3) backfill ${c.to} in batches by the primary key; 4) deploy code that uses ${c.to}; 5) a later release drops the triggers and ${c.column}.`,
      }));
  },
};

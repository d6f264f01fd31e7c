import { relName } from '../postgres-locks';
import { columnTypeSql } from './constraint-without-not-valid';
import type { Rule, RuleHit } from './rule';

type Node = Record<string, unknown>;
interface RangeVar {
  schemaname?: string;
  relname: string;
}
interface Cmd {
  subtype: string;
  def?: Node;
}
interface Constraint {
  contype: string;
  conname?: string;
  indexname?: string;
  keys?: { String?: { sval?: string } }[];
  including?: { String?: { sval?: string } }[];
  nulls_not_distinct?: boolean;
  deferrable?: boolean;
  initdeferred?: boolean;
}

const strs = (l: { String?: { sval?: string } }[] | undefined) => (l ?? []).map((x) => x.String?.sval ?? '');

function plan(table: string, c: Constraint, columns: string[], first = 1): string {
  const t = table.split('.').pop()!;
  const pk = c.contype === 'CONSTR_PRIMARY';
  const name = c.conname ?? (pk ? `${t}_pkey` : `${t}_${columns.join('_')}_key`);
  const include = strs(c.including);
  const attrs = `${c.deferrable ? ' DEFERRABLE' : ''}${c.initdeferred ? ' INITIALLY DEFERRED' : ''}`;
  return [
    `${first}) CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${columns.join(', ')})${include.length ? ` INCLUDE (${include.join(', ')})` : ''}${c.nulls_not_distinct ? ' NULLS NOT DISTINCT' : ''};  -- builds while reads and writes go on; runs outside a transaction (Flightdeck runs it on its own). If it fails, DROP INDEX CONCURRENTLY ${name}; and retry: a failed build leaves an invalid index behind.`,
    `${first + 1}) ALTER TABLE ${table} ADD CONSTRAINT ${name} ${pk ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${name}${attrs};  -- a brief ACCESS EXCLUSIVE, no build`,
    ...(pk ? [`   (PRIMARY KEY USING INDEX also sets the columns NOT NULL: if they are nullable today, prove it first with CHECK (… IS NOT NULL) NOT VALID + VALIDATE CONSTRAINT, or that step scans under ACCESS EXCLUSIVE.)`] : []),
  ].join('\n');
}

export const uniqueWithoutConcurrentIndex: Rule = {
  id: 'unique-without-concurrent-index',
  title: 'PRIMARY KEY or UNIQUE constraint builds its index under ACCESS EXCLUSIVE',
  severity: 'warning',
  why: 'ADD CONSTRAINT … PRIMARY KEY / UNIQUE builds the unique index inside the ALTER TABLE, holding ACCESS EXCLUSIVE for the whole build: every read and write on the table waits for a full scan and sort. CREATE UNIQUE INDEX CONCURRENTLY builds the same index while traffic goes on, and ADD CONSTRAINT … USING INDEX then turns it into the constraint in a moment.',
  engines: ['postgres'],
  examples: {
    bad: [
      'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
      'ALTER TABLE order_items ADD PRIMARY KEY (order_id, line_no);',
      'ALTER TABLE accounts ADD COLUMN external_ref text UNIQUE;',
    ],
    good: [
      'CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);',
      'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;',
      'CREATE TABLE plans (id bigint, code text);\nALTER TABLE plans ADD PRIMARY KEY (id), ADD CONSTRAINT plans_code_key UNIQUE (code);',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'AlterTableStmt' || ctx.statement.node.objtype !== 'OBJECT_TABLE') return [];
    const table = relName(ctx.statement.node.relation as RangeVar);
    if (ctx.createdEarlier.has(table)) return [];
    const cmds = ((ctx.statement.node.cmds as { AlterTableCmd: Cmd }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
    const hits: RuleHit[] = [];
    const kind = (c: Constraint) => (c.contype === 'CONSTR_PRIMARY' ? 'primary key' : 'unique constraint');
    for (const cmd of cmds) {
      if (cmd.subtype === 'AT_AddConstraint') {
        const c = cmd.def?.Constraint as Constraint | undefined;
        if (!c || (c.contype !== 'CONSTR_PRIMARY' && c.contype !== 'CONSTR_UNIQUE') || c.indexname) continue;
        const columns = strs(c.keys);
        hits.push({
          message: `Adds ${kind(c)} ${c.conname ? `${c.conname} ` : ''}on ${table} (${columns.join(', ')}): its index is built while ACCESS EXCLUSIVE blocks every read and write on ${table}.`,
          rewrite: plan(table, c, columns),
        });
      } else if (cmd.subtype === 'AT_AddColumn') {
        const col = (cmd.def?.ColumnDef ?? {}) as Node;
        const name = String(col.colname);
        for (const c of ((col.constraints as { Constraint: Constraint }[] | undefined) ?? []).map((x) => x.Constraint)) {
          if (c.contype !== 'CONSTR_PRIMARY' && c.contype !== 'CONSTR_UNIQUE') continue;
          hits.push({
            message: `Adds column ${table}.${name} as a ${kind(c)}: its index is built over every row while ADD COLUMN holds ACCESS EXCLUSIVE on ${table}.`,
            rewrite: [`1) ALTER TABLE ${table} ADD COLUMN ${name} ${columnTypeSql(ctx.file.text, col)};  -- no index yet; backfill it in batches first if it needs values`, plan(table, c, [name], 2)].join('\n'),
          });
        }
      }
    }
    return hits;
  },
};

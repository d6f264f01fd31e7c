import { isVolatileExpr, relName, walk } from '../postgres-locks';
import { columnTypeSql, sqlClause } from './constraint-without-not-valid';
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
  raw_expr?: unknown;
  location?: number;
}

/** serial types: an implicit DEFAULT nextval(…), evaluated for every existing row. */
const serials: Record<string, string> = { serial: 'integer', serial4: 'integer', bigserial: 'bigint', serial8: 'bigint', smallserial: 'smallint', serial2: 'smallint' };

/** The volatile functions the expression calls, innermost included (for md5(random()::text), random). */
function volatileCalls(expr: unknown): string[] {
  const out: string[] = [];
  walk(expr, (n) => {
    const fc = n.FuncCall as { funcname?: { String?: { sval?: string } }[] } | undefined;
    if (fc && isVolatileExpr({ FuncCall: { funcname: fc.funcname } })) out.push(fc.funcname!.map((p) => p.String?.sval ?? '').join('.'));
  });
  return [...new Set(out)];
}

export const volatileDefault: Rule = {
  id: 'volatile-default',
  title: 'New column with a volatile default rewrites the table',
  severity: 'warning',
  why: 'Since PostgreSQL 11, ADD COLUMN … DEFAULT stores a constant or stable default (now(), CURRENT_TIMESTAMP, a literal) once in the catalog and returns at once. A volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(…), a serial type) must be computed for every existing row, so PostgreSQL rewrites the whole table, and rebuilds its indexes, under ACCESS EXCLUSIVE: no reads or writes until it finishes, and twice the disk meanwhile.',
  engines: ['postgres'],
  examples: {
    bad: [
      'ALTER TABLE orders ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();',
      'ALTER TABLE jobs ADD COLUMN jitter_ms int DEFAULT (random() * 1000)::int;',
      'ALTER TABLE events ADD COLUMN seq bigserial;',
      'ALTER TABLE audit_log ADD COLUMN recorded_at timestamptz DEFAULT clock_timestamp(), ADD COLUMN note text;',
    ],
    good: [
      'ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();',
      'ALTER TABLE orders ADD COLUMN public_id uuid;\nALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();',
      'CREATE TABLE sessions (id bigint PRIMARY KEY);\nALTER TABLE sessions ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();',
      "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active', ADD COLUMN updated_at timestamptz DEFAULT CURRENT_TIMESTAMP;",
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'AlterTableStmt' || ctx.statement.node.objtype !== 'OBJECT_TABLE') return [];
    const table = relName(ctx.statement.node.relation as RangeVar);
    if (ctx.createdEarlier.has(table)) return [];
    const text = ctx.file.text;
    const cmds = ((ctx.statement.node.cmds as { AlterTableCmd: Cmd }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
    const hits: RuleHit[] = [];
    for (const cmd of cmds) {
      if (cmd.subtype !== 'AT_AddColumn') continue;
      const col = (cmd.def?.ColumnDef ?? {}) as Node;
      const name = String(col.colname);
      const cons = ((col.constraints as { Constraint: Constraint }[] | undefined) ?? []).map((c) => c.Constraint);
      const serialType = serials[(((col.typeName as { names?: { String?: { sval?: string } }[] } | undefined)?.names ?? []).map((p) => p.String?.sval ?? '').pop() ?? '').toLowerCase()];
      // serial columns are NOT NULL too.
      const notNull = Boolean(serialType) || cons.some((c) => c.contype === 'CONSTR_NOTNULL');
      const notNullSteps = (n: number) =>
        notNull
          ? [
              `${n}) ALTER TABLE ${table} ADD CONSTRAINT ${table.split('.').pop()}_${name}_not_null CHECK (${name} IS NOT NULL) NOT VALID;`,
              `${n + 1}) In a separate transaction: ALTER TABLE ${table} VALIDATE CONSTRAINT ${table.split('.').pop()}_${name}_not_null;`,
              `${n + 2}) ALTER TABLE ${table} ALTER COLUMN ${name} SET NOT NULL; ALTER TABLE ${table} DROP CONSTRAINT ${table.split('.').pop()}_${name}_not_null;  -- no scan on PostgreSQL 12+`,
            ]
          : [];
      if (serialType) {
        const seq = `${table}_${name}_seq`;
        hits.push({
          message: `Adds ${table}.${name} as a serial column: its implicit DEFAULT nextval('${seq}') is drawn for every existing row, so PostgreSQL rewrites ${table} under ACCESS EXCLUSIVE.`,
          rewrite: [
            `1) CREATE SEQUENCE ${seq} AS ${serialType}; ALTER TABLE ${table} ADD COLUMN ${name} ${serialType};  -- catalog only`,
            `2) ALTER TABLE ${table} ALTER COLUMN ${name} SET DEFAULT nextval('${seq}'); ALTER SEQUENCE ${seq} OWNED BY ${table}.${name};  -- new rows only`,
            `3) Backfill in batches, one transaction each: UPDATE ${table} SET ${name} = nextval('${seq}') WHERE ${name === 'id' ? '<batch key>' : 'id'} BETWEEN :lo AND :hi AND ${name} IS NULL;`,
            ...notNullSteps(4),
          ].join('\n'),
        });
        continue;
      }
      const dflt = cons.find((c) => c.contype === 'CONSTR_DEFAULT');
      if (!dflt || !isVolatileExpr(dflt.raw_expr)) continue;
      const fns = volatileCalls(dflt.raw_expr);
      const next = cons
        .map((c) => c.location ?? -1)
        .filter((l) => l > (dflt.location ?? Infinity))
        .sort((a, b) => a - b)[0];
      const expr = dflt.location === undefined ? '<the default>' : sqlClause(text, dflt.location, next).trim().replace(/^default\s+/i, '');
      hits.push({
        message: `Adds ${table}.${name} with DEFAULT ${expr}: ${fns.map((f) => `${f}()`).join(', ') || 'the default'} is volatile, so it is evaluated for every existing row and PostgreSQL rewrites ${table} under ACCESS EXCLUSIVE (a constant or now() would not).`,
        rewrite: [
          `1) ALTER TABLE ${table} ADD COLUMN ${name} ${columnTypeSql(text, col)};  -- no default: catalog only`,
          `2) ALTER TABLE ${table} ALTER COLUMN ${name} SET DEFAULT ${expr};  -- applies to new rows only, no rewrite`,
          `3) Backfill in batches, one transaction each: UPDATE ${table} SET ${name} = ${expr} WHERE ${name === 'id' ? '<batch key>' : 'id'} BETWEEN :lo AND :hi AND ${name} IS NULL;`,
          ...notNullSteps(4),
          ...(cons.some((c) => !['CONSTR_DEFAULT', 'CONSTR_NOTNULL', 'CONSTR_NULL'].includes(c.contype)) ? [`Then add ${name}'s other constraints, each the safe way (a unique index CONCURRENTLY, a foreign key or CHECK NOT VALID + VALIDATE).`] : []),
        ].join('\n'),
      });
    }
    return hits;
  },
};

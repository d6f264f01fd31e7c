import { relName, typeName } from '../postgres-locks';
import { sqlClause } from './constraint-without-not-valid';
import type { Rule, RuleHit } from './rule';

type Node = Record<string, unknown>;
interface RangeVar {
  schemaname?: string;
  relname: string;
}
interface Cmd {
  subtype: string;
  name?: string;
  def?: Node;
}

/** No USING, or USING that only casts the column itself: the conversion is the type's own cast. */
function plainUsing(expr: unknown, column: string): boolean {
  if (expr === undefined) return true;
  const n = expr as Node;
  const fields = (n.ColumnRef as { fields?: { String?: { sval?: string } }[] } | undefined)?.fields;
  if (fields) return fields[fields.length - 1]?.String?.sval === column;
  const cast = n.TypeCast as { arg?: unknown } | undefined;
  return cast ? plainUsing(cast.arg, column) : false;
}

/** Target types that are a catalog-only change from the usual old type (varchar(n) or varchar →
 * text or unbounded varchar are binary-coercible), but a rewrite from any other (int, char(n), …). */
const coercibleTarget = (t: string) => t === 'text' || t === 'varchar';

const expandContract = (table: string, col: string, type: string, using: string) =>
  [
    `Or expand and contract, with no long lock:`,
    `1) ALTER TABLE ${table} ADD COLUMN ${col}_new ${type};`,
    `2) A trigger keeps it filled while old code writes ${col}:`,
    `   CREATE FUNCTION ${table.split('.').pop()}_${col}_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.${col}_new := ${using.replace(/\b_col_\b/g, `NEW.${col}`)}; RETURN NEW; END $$;`,
    `   CREATE TRIGGER ${table.split('.').pop()}_${col}_new BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table.split('.').pop()}_${col}_new();`,
    `3) Backfill in batches, one transaction each: UPDATE ${table} SET ${col}_new = ${using.replace(/\b_col_\b/g, col)} WHERE id BETWEEN :lo AND :hi;`,
    `4) Swap in one short transaction: SET lock_timeout = '5s'; ALTER TABLE ${table} RENAME COLUMN ${col} TO ${col}_old; ALTER TABLE ${table} RENAME COLUMN ${col}_new TO ${col}; DROP TRIGGER ${table.split('.').pop()}_${col}_new ON ${table};`,
    `   (recreate ${col}'s indexes on ${col}_new CONCURRENTLY before the swap, and its constraints NOT VALID + VALIDATE)`,
    `5) In a later migration: ALTER TABLE ${table} DROP COLUMN ${col}_old;`,
  ].join('\n');

export const typeChangeRewrite: Rule = {
  id: 'type-change-rewrite',
  title: 'Column type change that rewrites the table',
  severity: 'warning',
  why: 'ALTER COLUMN … TYPE holds ACCESS EXCLUSIVE, blocking every read and write, and unless the old type converts to the new one without change (binary-coercible) it rewrites every row into a new file and rebuilds every index on the table while holding it: on a large table, minutes to hours of outage and twice the disk. varchar(n) → varchar(m ≥ n), varchar → text, numeric(p,s) → numeric(q ≥ p,s) and (on PostgreSQL 12+ with TimeZone UTC) timestamp → timestamptz skip the rewrite; int → bigint, text → varchar(n), char(n) → text and anything with a USING expression do not. Only the column\'s current type tells, and the migration file shows only the new one: the lock trace shows whether the table was rewritten (a new relfilenode).',
  engines: ['postgres'],
  examples: {
    bad: [
      'ALTER TABLE events ALTER COLUMN id TYPE bigint;',
      'ALTER TABLE orders ALTER COLUMN status TYPE order_status USING status::order_status;',
      'ALTER TABLE users ALTER COLUMN email TYPE varchar(320), ALTER COLUMN created_at TYPE timestamptz;',
      'ALTER TABLE users ALTER COLUMN bio TYPE text USING trim(bio);',
    ],
    good: [
      'CREATE TABLE audit (id int PRIMARY KEY, payload json);\nALTER TABLE audit ALTER COLUMN id TYPE bigint, ALTER COLUMN payload TYPE jsonb;',
      'ALTER TABLE users ADD COLUMN id_big bigint;',
      'ALTER TABLE users ALTER COLUMN email SET DEFAULT \'\';',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'AlterTableStmt' || ctx.statement.node.objtype !== 'OBJECT_TABLE') return [];
    const table = relName(ctx.statement.node.relation as RangeVar);
    if (ctx.createdEarlier.has(table)) return [];
    const cmds = ((ctx.statement.node.cmds as { AlterTableCmd: Cmd }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
    return cmds
      .filter((c) => c.subtype === 'AT_AlterColumnType')
      .map((c): RuleHit => {
        const col = String(c.name);
        const def = (c.def?.ColumnDef ?? {}) as Node;
        const tn = def.typeName as { location?: number; arrayBounds?: unknown[] } | undefined;
        const type = typeName(tn) + (tn?.arrayBounds?.length ? '[]' : '');
        // As written, for messages and the rewrite: `TYPE bigint USING …` reads better than int8.
        const written = tn?.location === undefined ? '' : sqlClause(ctx.file.text, tn.location).trim();
        const usingAt = /\sUSING\s/i.exec(written);
        const shown = (usingAt ? written.slice(0, usingAt.index) : written).trim() || type;
        const using = def.raw_default;
        const plain = plainUsing(using, col);
        const usingSql = usingAt ? written.slice(usingAt.index + usingAt[0].length).trim() : '';
        const convert = plain ? `_col_::${shown}` : usingSql.replace(new RegExp(`\\b${col.replace(/[^\w]/g, '')}\\b`, 'g'), '_col_');
        const checkType = `Check the current type first: SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attname = '${col}';`;
        if (plain && coercibleTarget(type)) {
          return {
            severity: 'info',
            message: `Changes ${table}.${col} to ${shown}: if it is varchar(n) or varchar today this is a catalog-only change under a brief ACCESS EXCLUSIVE, but from any other type (int, char(n), …) PostgreSQL rewrites ${table} and its indexes while holding it; verify with the lock trace.`,
            rewrite: [checkType, `If it is varchar: keep the statement, behind SET lock_timeout = '5s'; so it cannot queue traffic behind a long transaction.`, expandContract(table, col, shown, convert)].join('\n'),
          };
        }
        const hints: string[] = [];
        if (!plain) hints.push('the USING expression computes every value anew, so the rewrite is certain');
        else if (/^varchar\(/.test(type)) hints.push(`if ${col} is varchar(m) with m ≤ ${type.slice(8, -1)} today, this is a catalog-only change: confirm with the lock trace and silence this finding with that reason`);
        else if (/^numeric\b/.test(type)) hints.push(`if ${col} is numeric today with the same scale and no larger precision (or the new type is unconstrained numeric), this is a catalog-only change: confirm with the lock trace`);
        else if (type === 'timestamptz') hints.push(`from timestamp, PostgreSQL 12+ skips the rewrite only when the session's TimeZone is UTC: confirm with the lock trace`);
        return {
          message: `Changes ${table}.${col} to ${shown}: PostgreSQL rewrites ${table} and rebuilds its indexes while ACCESS EXCLUSIVE blocks every read and write${hints.length ? ` (${hints.join('; ')})` : ''}.`,
          rewrite: [checkType, `If the table is small enough to rewrite within your window: SET lock_timeout = '5s'; then the statement, at a quiet hour.`, expandContract(table, col, shown, convert)].join('\n'),
        };
      });
  },
};

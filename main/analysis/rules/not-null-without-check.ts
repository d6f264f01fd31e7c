import { relName } from '../postgres-locks';
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
interface Constraint {
  contype: string;
  conname?: string;
  skip_validation?: boolean;
  raw_expr?: unknown;
}

/** Whether a CHECK expression proves `column IS NOT NULL`: the test itself, or one arm of a top-level AND
 * (PostgreSQL's proof accepts both). */
function provesNotNull(expr: unknown, column: string): boolean {
  const n = (expr ?? {}) as Node;
  const test = n.NullTest as { nulltesttype?: string; arg?: Node } | undefined;
  if (test) {
    const fields = (test.arg?.ColumnRef as { fields?: { String?: { sval?: string } }[] } | undefined)?.fields;
    return test.nulltesttype === 'IS_NOT_NULL' && fields?.[fields.length - 1]?.String?.sval === column;
  }
  const bool = n.BoolExpr as { boolop?: string; args?: unknown[] } | undefined;
  return bool?.boolop === 'AND_EXPR' && (bool.args ?? []).some((a) => provesNotNull(a, column));
}

const cmdsOf = (node: Node) => ((node.cmds as { AlterTableCmd: Cmd }[] | undefined) ?? []).map((c) => c.AlterTableCmd);

/** The constraint names proving `column` NOT NULL after running `cmds`, given those before. */
function track(cmds: Cmd[], column: string, table: string, state: { validated: Set<string>; notValid: Set<string> }): void {
  for (const c of cmds) {
    if (c.subtype === 'AT_AddConstraint') {
      const k = c.def?.Constraint as Constraint | undefined;
      if (k?.contype !== 'CONSTR_CHECK' || !provesNotNull(k.raw_expr, column)) continue;
      const name = k.conname ?? `${table.split('.').pop()}_${column}_check`;
      (k.skip_validation ? state.notValid : state.validated).add(name);
    } else if (c.subtype === 'AT_ValidateConstraint' && c.name && state.notValid.has(c.name)) {
      state.validated.add(c.name);
    } else if (c.subtype === 'AT_DropConstraint' && c.name) {
      state.validated.delete(c.name);
      state.notValid.delete(c.name);
    }
  }
}

/** Step 4 of the plan (dropping the helper CHECK) in a later statement is a sign steps 1–2 ran in
 * earlier migrations: a constraint on the table named after the column and NOT NULL / check. */
const helperName = (name: string, column: string) => {
  const at = name.toLowerCase().indexOf(column.toLowerCase());
  return at >= 0 && /null|nn|check|chk/i.test(name.slice(0, at) + name.slice(at + column.length));
};

function plan(table: string, column: string): string {
  const check = `${table.split('.').pop()}_${column}_not_null`;
  return [
    `1) ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID;  -- a brief lock, no scan`,
    `2) In a separate transaction (the next migration): ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};  -- scans under SHARE UPDATE EXCLUSIVE: reads and writes go on`,
    `3) ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL;  -- PostgreSQL 12+ sees the validated CHECK and skips the scan`,
    `4) In a later statement (not the same ALTER TABLE, which would drop the CHECK first): ALTER TABLE ${table} DROP CONSTRAINT ${check};`,
  ].join('\n');
}

export const notNullWithoutCheck: Rule = {
  id: 'not-null-without-check',
  title: 'SET NOT NULL scans the table under ACCESS EXCLUSIVE',
  severity: 'warning',
  why: 'ALTER COLUMN … SET NOT NULL reads every row to prove none is NULL, and holds ACCESS EXCLUSIVE (no reads, no writes) for the whole scan. Since PostgreSQL 12 the scan is skipped when a validated CHECK (col IS NOT NULL) already proves it, and that CHECK can be added NOT VALID (brief lock) and validated under SHARE UPDATE EXCLUSIVE, which lets traffic through.',
  engines: ['postgres'],
  examples: {
    bad: [
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      "UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;\nALTER TABLE orders ALTER COLUMN currency SET NOT NULL, ALTER COLUMN currency SET DEFAULT 'EUR';",
      'ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL, DROP CONSTRAINT users_email_not_null;',
    ],
    good: [
      'BEGIN;\nALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\nCOMMIT;\nBEGIN;\nALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\nCOMMIT;\nBEGIN;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;\nCOMMIT;',
      '-- users_email_not_null was added NOT VALID and validated by the two migrations before this one.\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;',
      'CREATE TABLE api_keys (id bigint PRIMARY KEY, owner_id bigint);\nALTER TABLE api_keys ALTER COLUMN owner_id SET NOT NULL;',
      'ALTER TABLE users ALTER COLUMN nickname DROP NOT NULL;',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'AlterTableStmt' || ctx.statement.node.objtype !== 'OBJECT_TABLE') return [];
    const table = relName(ctx.statement.node.relation as RangeVar);
    if (ctx.createdEarlier.has(table)) return [];
    const cmds = cmdsOf(ctx.statement.node);
    const hits: RuleHit[] = [];
    cmds.forEach((cmd) => {
      if (cmd.subtype !== 'AT_SetNotNull' || !cmd.name) return;
      const column = cmd.name;
      const state = { validated: new Set<string>(), notValid: new Set<string>() };
      ctx.statements.slice(0, ctx.index).forEach((s) => {
        if (s.kind === 'AlterTableStmt' && relName(s.node.relation as RangeVar) === table) track(cmdsOf(s.node), column, table, state);
      });
      if (state.validated.size) return;
      // ALTER TABLE runs DROP CONSTRAINT before SET NOT NULL, whatever the order written.
      const droppedHere = cmds.filter((c) => c.subtype === 'AT_DropConstraint' && c.name && helperName(c.name, column)).map((c) => c.name!);
      const droppedLater = ctx.statements
        .slice(ctx.index + 1)
        .some((s) => s.kind === 'AlterTableStmt' && relName(s.node.relation as RangeVar) === table && cmdsOf(s.node).some((c) => c.subtype === 'AT_DropConstraint' && c.name && helperName(c.name, column)));
      if (droppedLater && !droppedHere.length) return;
      let message = `SET NOT NULL on ${table}.${column} reads every row under ACCESS EXCLUSIVE: nothing validated earlier proves ${column} IS NOT NULL.`;
      if (droppedHere.length) message = `SET NOT NULL on ${table}.${column} in the same ALTER TABLE as DROP CONSTRAINT ${droppedHere.join(', ')}: PostgreSQL drops the constraint first, so it cannot spare the scan, which runs under ACCESS EXCLUSIVE.`;
      else if (state.notValid.size) message = `SET NOT NULL on ${table}.${column} reads every row under ACCESS EXCLUSIVE: the CHECK ${[...state.notValid].join(', ')} was added NOT VALID but never validated, so it does not prove ${column} IS NOT NULL.`;
      hits.push({ message, rewrite: plan(table, column) });
    });
    return hits;
  },
};

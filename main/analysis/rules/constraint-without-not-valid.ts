import { segmentPostgres } from '../../migrations/split-postgres';
import { relName, walk } from '../postgres-locks';
import type { Rule, RuleHit, StatementContext } from './rule';

type Node = Record<string, unknown>;
interface RangeVar {
  schemaname?: string;
  relname: string;
}
interface Constraint {
  contype: string;
  conname?: string;
  skip_validation?: boolean;
  pktable?: RangeVar;
  fk_attrs?: { String?: { sval?: string } }[];
  raw_expr?: unknown;
  location?: number;
}
interface Cmd {
  subtype: string;
  name?: string;
  def?: Node;
}

/**
 * The SQL written from byte `start` of the file (parse-node locations are byte offsets into the
 * file) to the end of its clause: a comma or semicolon outside parentheses, quotes and comments, the
 * closing parenthesis of an enclosing list, or byte `end`. Comments after the last token are left out.
 */
export function sqlClause(fileText: string, start: number, end?: number): string {
  const s = Buffer.from(fileText, 'utf8').subarray(start, end).toString('utf8');
  let depth = 0;
  let codeEnd = 0;
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (s.startsWith('--', i)) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl + 1;
      continue;
    }
    if (s.startsWith('/*', i)) {
      const e = s.indexOf('*/', i + 2);
      i = e < 0 ? s.length : e + 2;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      // A doubled quote inside is an escaped one: the scan just closes and reopens.
      const e = s.indexOf(ch, i + 1);
      i = e < 0 ? s.length : e + 1;
      codeEnd = i;
      continue;
    }
    const dollar = ch === '$' ? /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(s.slice(i)) : null;
    if (dollar) {
      const e = s.indexOf(dollar[0], i + dollar[0].length);
      i = e < 0 ? s.length : e + dollar[0].length;
      codeEnd = i;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) break;
      depth--;
    } else if ((ch === ',' || ch === ';') && depth === 0) break;
    i++;
    codeEnd = i;
  }
  return s.slice(0, codeEnd);
}

/** The column's type as written (arrays, `timestamp with time zone`, COLLATE included), from its
 * ColumnDef in the file: the text between the type and the first constraint. */
export function columnTypeSql(fileText: string, col: Node): string {
  const typeLoc = (col.typeName as { location?: number } | undefined)?.location;
  if (typeLoc === undefined) return '<type>';
  const next = columnConstraints(col)
    .map((c) => c.location ?? -1)
    .filter((l) => l > typeLoc)
    .sort((a, b) => a - b)[0];
  return sqlClause(fileText, typeLoc, next).trim() || '<type>';
}

function columnConstraints(col: Node): Constraint[] {
  return ((col.constraints as { Constraint: Constraint }[] | undefined) ?? []).map((c) => c.Constraint);
}

/** The text of one column constraint: from its location to the next constraint's (or the clause end). */
function columnConstraintSql(fileText: string, col: Node, c: Constraint): string {
  if (c.location === undefined) return '';
  const next = columnConstraints(col)
    .map((x) => x.location ?? -1)
    .filter((l) => l > c.location!)
    .sort((a, b) => a - b)[0];
  return sqlClause(fileText, c.location, next).trim();
}

const bare = (table: string) => table.split('.').pop()!;

function firstColumn(expr: unknown): string | undefined {
  let col: string | undefined;
  walk(expr, (n) => {
    const fields = (n.ColumnRef as { fields?: { String?: { sval?: string } }[] } | undefined)?.fields;
    const name = fields?.[fields.length - 1]?.String?.sval;
    if (!col && name) col = name;
  });
  return col;
}

/** The name PostgreSQL would give an unnamed constraint (close enough to write the VALIDATE). */
function nameOf(table: string, c: Constraint, column?: string): string {
  if (c.conname) return c.conname;
  if (c.contype === 'CONSTR_FOREIGN') {
    const cols = (c.fk_attrs ?? []).map((a) => a.String?.sval ?? '');
    return `${bare(table)}_${(cols.length ? cols : [column ?? 'col']).join('_')}_fkey`;
  }
  const col = column ?? firstColumn(c.raw_expr);
  return `${bare(table)}_${col ? `${col}_` : ''}check`;
}

/** A constraint clause as written, with its name made explicit. */
const named = (sql: string, name: string) => (/^constraint\s/i.test(sql) ? sql : `CONSTRAINT ${name} ${sql}`);

function lockText(c: Constraint, table: string): string {
  return c.contype === 'CONSTR_FOREIGN'
    ? `SHARE ROW EXCLUSIVE on ${table} and on ${relName(c.pktable)}, so writes to both wait`
    : `ACCESS EXCLUSIVE on ${table}, so every read and write waits`;
}

function plan(table: string, name: string, clause: string, c: Constraint): string {
  const validateLocks = c.contype === 'CONSTR_FOREIGN' ? `SHARE UPDATE EXCLUSIVE on ${table}, ROW SHARE on ${relName(c.pktable)}` : `SHARE UPDATE EXCLUSIVE on ${table}`;
  return [
    `1) ALTER TABLE ${table} ADD ${clause} NOT VALID;  -- a brief lock, no scan; rows written from now on are checked`,
    `2) In a separate transaction (the next migration): ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};  -- scans under ${validateLocks}: reads and writes go on`,
  ].join('\n');
}

/** Where, earlier in this statement or file, `name` was added to `table` with NOT VALID. */
function addedNotValid(ctx: StatementContext, table: string, name: string, cmdsBefore: Cmd[]): { statement: number; constraint: Constraint } | undefined {
  const find = (cmds: Cmd[], table2: string) =>
    table2 === table
      ? cmds.map((c) => c.def?.Constraint as Constraint | undefined).find((k) => k?.skip_validation && (k.conname === name || nameOf(table, k) === name))
      : undefined;
  const here = find(cmdsBefore, table);
  if (here) return { statement: ctx.index, constraint: here };
  for (let j = ctx.index - 1; j >= 0; j--) {
    const s = ctx.statements[j]!;
    if (s.kind !== 'AlterTableStmt') continue;
    const k = find(((s.node.cmds as { AlterTableCmd: Cmd }[] | undefined) ?? []).map((c) => c.AlterTableCmd), relName(s.node.relation as RangeVar));
    if (k) return { statement: j, constraint: k };
  }
  return undefined;
}

function sameTransaction(ctx: StatementContext, other: number): boolean {
  if (other === ctx.index) return true;
  try {
    const seg = segmentPostgres(ctx.statements, ctx.file.file).find((g) => g.statements.some((s) => s.index === ctx.index));
    return Boolean(seg?.transactional && seg.statements.some((s) => s.index === other));
  } catch {
    return false;
  }
}

export const constraintWithoutNotValid: Rule = {
  id: 'constraint-without-not-valid',
  title: 'Foreign key or CHECK validated while the table is locked',
  severity: 'warning',
  why: 'Adding a FOREIGN KEY or CHECK validates every existing row before the statement returns, and the lock is held for the whole scan: SHARE ROW EXCLUSIVE on both tables for a foreign key (writes to either wait), ACCESS EXCLUSIVE for a CHECK (reads wait too). On a large table that is minutes of queued traffic. NOT VALID adds the constraint with only a brief lock and checks new rows at once; VALIDATE CONSTRAINT, run in a later transaction, scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.',
  engines: ['postgres'],
  examples: {
    bad: [
      'ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id);',
      'ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount_cents > 0);',
      'ALTER TABLE invoices ADD COLUMN discount_pct numeric(5,2) CHECK (discount_pct BETWEEN 0 AND 100);',
      'ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;',
    ],
    good: [
      'ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;',
      'ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;',
      'CREATE TABLE refunds (id bigint PRIMARY KEY, payment_id bigint, amount_cents int);\nALTER TABLE refunds ADD CONSTRAINT refunds_payment_fkey FOREIGN KEY (payment_id) REFERENCES payments (id);\nALTER TABLE refunds ADD CONSTRAINT refunds_amount_positive CHECK (amount_cents > 0);',
      'ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);',
      'BEGIN;\nALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount_cents > 0) NOT VALID;\nCOMMIT;\nBEGIN;\nALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive;\nCOMMIT;',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'AlterTableStmt' || ctx.statement.node.objtype !== 'OBJECT_TABLE') return [];
    const table = relName(ctx.statement.node.relation as RangeVar);
    const fresh = ctx.createdEarlier.has(table);
    const text = ctx.file.text;
    const cmds = ((ctx.statement.node.cmds as { AlterTableCmd: Cmd }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
    const hits: RuleHit[] = [];
    cmds.forEach((cmd, i) => {
      if (cmd.subtype === 'AT_AddConstraint' && !fresh) {
        const c = cmd.def?.Constraint as Constraint | undefined;
        if (!c || (c.contype !== 'CONSTR_FOREIGN' && c.contype !== 'CONSTR_CHECK') || c.skip_validation) return;
        const name = nameOf(table, c);
        const clause = named(c.location === undefined ? '<constraint>' : sqlClause(text, c.location).trim(), name);
        const kind = c.contype === 'CONSTR_FOREIGN' ? `foreign key ${name} (${table} → ${relName(c.pktable)})` : `CHECK ${name} on ${table}`;
        hits.push({
          message: `Adds ${kind} and validates every existing row at once, holding ${lockText(c, table)} until the scan ends.`,
          rewrite: plan(table, name, clause, c),
        });
      } else if (cmd.subtype === 'AT_AddColumn' && !fresh) {
        const col = cmd.def?.ColumnDef as Node | undefined;
        if (!col) return;
        const colName = String(col.colname);
        const cons = columnConstraints(col);
        // A new column holds only NULLs unless something fills it: then PostgreSQL skips the
        // foreign key check (a CHECK is still verified with a full scan).
        const filled = cons.some((c) => c.contype === 'CONSTR_DEFAULT' || c.contype === 'CONSTR_IDENTITY' || c.contype === 'CONSTR_GENERATED');
        const offending = cons.filter((c) => c.contype === 'CONSTR_CHECK' || (c.contype === 'CONSTR_FOREIGN' && filled));
        if (!offending.length) return;
        let colSql = sqlClause(text, (col.location as number | undefined) ?? 0).trim();
        const steps: string[] = [];
        for (const c of offending) {
          const written = columnConstraintSql(text, col, c);
          const at = colSql.indexOf(written);
          if (at >= 0) colSql = `${colSql.slice(0, at).trimEnd()} ${colSql.slice(at + written.length).trimStart()}`.trim();
          const name = nameOf(table, c, colName);
          const body = written.replace(/^constraint\s+("[^"]*"|\S+)\s+/i, '');
          steps.push(`ADD CONSTRAINT ${name} ${c.contype === 'CONSTR_FOREIGN' ? `FOREIGN KEY (${colName}) ${body}` : body}`);
        }
        const names = offending.map((c) => nameOf(table, c, colName));
        hits.push({
          message: `Adds column ${table}.${colName} with ${offending.map((c) => (c.contype === 'CONSTR_FOREIGN' ? 'a foreign key' : 'a CHECK')).join(' and ')} that is verified against every existing row while ADD COLUMN holds ACCESS EXCLUSIVE on ${table}.`,
          rewrite: [
            `1) ALTER TABLE ${table} ADD COLUMN ${colSql};`,
            `2) ALTER TABLE ${table} ${steps.map((s) => `${s} NOT VALID`).join(', ')};  -- a brief lock, no scan`,
            `3) In a separate transaction (the next migration): ${names.map((n) => `ALTER TABLE ${table} VALIDATE CONSTRAINT ${n};`).join(' ')}  -- scans under SHARE UPDATE EXCLUSIVE: reads and writes go on`,
          ].join('\n'),
        });
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        const added = addedNotValid(ctx, table, cmd.name, cmds.slice(0, i));
        if (!added || fresh || !sameTransaction(ctx, added.statement)) return;
        const c = added.constraint;
        const clause = named(c.location === undefined ? '<constraint>' : sqlClause(text, c.location).trim().replace(/\s+NOT\s+VALID\s*$/i, ''), cmd.name);
        hits.push({
          message: `Validates ${cmd.name} in the same transaction that added it NOT VALID: the lock the ADD took (${lockText(c, table)}) is held until commit, so the validation scan runs under it after all.`,
          rewrite: [
            `Commit between the two steps:`,
            `1) ALTER TABLE ${table} ADD ${clause} NOT VALID;`,
            `2) In the next migration (or in its own BEGIN … COMMIT after the first one's): ALTER TABLE ${table} VALIDATE CONSTRAINT ${cmd.name};`,
          ].join('\n'),
        });
      }
    });
    return hits;
  },
};

import type { PgStatement } from '../../migrations/split-postgres';
import { relName, walk } from '../postgres-locks';
import { splitWhere } from './backfill-in-schema-migration';
import { createdBefore, ident, qualified, sqlOf } from './index-without-concurrently';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
}
type Node = Record<string, unknown>;

interface Loss {
  statement: PgStatement;
  /** "table audit_log", "column users.note", … */
  what: string;
  table: string;
  column?: string;
  /** The SQL that keeps the data before this statement. */
  keep: string;
}

const objectNames = (list: unknown) =>
  ((list as { List?: { items?: { String?: { sval?: string } }[] }; String?: { sval?: string } }[] | undefined) ?? []).map((o) => (o.List ? (o.List.items ?? []).map((i) => i.String?.sval ?? '').filter(Boolean).join('.') : (o.String?.sval ?? '')));

/** The part of an earlier statement that reads rows out (its query), if it copies data somewhere. */
function copiedFrom(s: PgStatement): unknown {
  const n = s.node;
  if (s.kind === 'CreateTableAsStmt') return n.query;
  if (s.kind === 'SelectStmt' && n.intoClause) return n;
  if (s.kind === 'InsertStmt') return n.selectStmt;
  if (s.kind === 'CopyStmt' && !n.is_from) return n.query ?? { RangeVar: n.relation, attlist: n.attlist };
  return undefined;
}

/** Whether an earlier statement of the down copies out the table (and the column, when given). */
function backedUp(statements: PgStatement[], before: number, table: string, column?: string): boolean {
  return statements.slice(0, before).some((s) => {
    const q = copiedFrom(s);
    if (!q) return false;
    let readsTable = false;
    let readsColumn = column === undefined;
    walk(q, (n) => {
      const r = n.RangeVar as RangeVar | undefined;
      if (r && relName(r) === table) readsTable = true;
      const fields = (n.ColumnRef as { fields?: { String?: { sval?: string }; A_Star?: unknown }[] } | undefined)?.fields;
      const last = fields?.[fields.length - 1];
      if (last && (last.A_Star || last.String?.sval === column)) readsColumn = true;
    });
    // COPY table TO … without a column list copies every column.
    if (s.kind === 'CopyStmt' && !s.node.query) readsColumn ||= !s.node.attlist || objectNames(s.node.attlist).includes(column ?? '');
    return readsTable && readsColumn;
  });
}

const backupName = (table: string, column?: string) => ident(`${table.split('.').pop()}${column ? `_${column}` : ''}_before_rollback`.slice(0, 63));

function lossesOf(statements: PgStatement[]): Loss[] {
  const out: Loss[] = [];
  statements.forEach((s, i) => {
    const n = s.node;
    const created = createdBefore(statements, i).tables;
    const keepTable = (t: string, where?: string | null) => `CREATE TABLE ${backupName(t)} AS SELECT * FROM ${qualified(t)}${where ? ` WHERE ${where}` : ''};`;
    if (s.kind === 'DropStmt' && n.removeType === 'OBJECT_TABLE') {
      for (const t of objectNames(n.objects)) if (!created.has(t) && !backedUp(statements, i, t)) out.push({ statement: s, what: `table ${t}`, table: t, keep: `ALTER TABLE ${qualified(t)} RENAME TO ${backupName(t)};  -- instead of dropping it (rename its indexes and constraints too, or a re-run of the up collides on their names), or copy it first: ${keepTable(t)}` });
    } else if (s.kind === 'DropStmt' && n.removeType === 'OBJECT_SCHEMA' && n.behavior === 'DROP_CASCADE') {
      for (const sc of objectNames(n.objects)) out.push({ statement: s, what: `schema ${sc} with every table in it (CASCADE)`, table: sc, keep: `ALTER SCHEMA ${ident(sc)} RENAME TO ${ident(`${sc}_before_rollback`)};  -- instead of DROP SCHEMA … CASCADE` });
    } else if (s.kind === 'AlterTableStmt') {
      const t = relName(n.relation as RangeVar);
      if (created.has(t)) return;
      for (const c of ((n.cmds as { AlterTableCmd: { subtype?: string; name?: string } }[] | undefined) ?? []).map((x) => x.AlterTableCmd)) {
        if (c.subtype !== 'AT_DropColumn' || !c.name || backedUp(statements, i, t, c.name)) continue;
        out.push({ statement: s, what: `column ${t}.${c.name}`, table: t, column: c.name, keep: `CREATE TABLE ${backupName(t, c.name)} AS SELECT id, ${ident(c.name)} FROM ${qualified(t)} WHERE ${ident(c.name)} IS NOT NULL;  -- before the DROP COLUMN (id = the table's primary key)` });
      }
    } else if (s.kind === 'TruncateStmt') {
      for (const r of (n.relations as { RangeVar: RangeVar }[] | undefined) ?? []) {
        const t = relName(r.RangeVar);
        if (!created.has(t) && !backedUp(statements, i, t)) out.push({ statement: s, what: `every row of ${t} (TRUNCATE)`, table: t, keep: `${keepTable(t)}  -- before the TRUNCATE` });
      }
    } else if (s.kind === 'DeleteStmt') {
      const t = relName(n.relation as RangeVar);
      if (created.has(t) || backedUp(statements, i, t)) return;
      const where = n.usingClause ? null : splitWhere(s.text.replace(/;\s*$/, '')).where;
      out.push({ statement: s, what: `${n.whereClause ? 'rows' : 'every row'} of ${t} (DELETE)`, table: t, keep: `${n.usingClause ? `-- copy the rows the DELETE on line ${s.line} removes into ${backupName(t)} first` : keepTable(t, where)}  -- before the DELETE` });
    }
  });
  return out;
}

export const dataLossRollback: Rule = {
  id: 'data-loss-rollback',
  title: 'Data-loss rollback: the down destroys data written since the up',
  severity: 'warning',
  why: 'A rollback usually runs after the application has been live on the new schema for a while. A down that drops the new table or column, or deletes the rows the up added, also throws away everything users wrote there in the meantime, and nothing but a point-in-time restore brings it back. Keeping the data (renamed, or copied out) makes the rollback reversible too.',
  engines: ['postgres', 'mysql'],
  examples: {
    bad: [
      '-- down up: CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL);\nDROP TABLE audit_log;',
      '-- down up: ALTER TABLE users ADD COLUMN phone text;\nALTER TABLE users DROP COLUMN phone;',
      "-- down up: INSERT INTO feature_flags (name, enabled) VALUES ('new_checkout', false);\nDELETE FROM feature_flags WHERE name = 'new_checkout';",
    ],
    good: [
      '-- down up: CREATE INDEX CONCURRENTLY users_phone_idx ON users (phone);\nDROP INDEX CONCURRENTLY IF EXISTS users_phone_idx;',
      '-- down up: CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL);\nALTER TABLE audit_log RENAME TO audit_log_before_rollback;',
      '-- down up: ALTER TABLE users ADD COLUMN phone text;\nCREATE TABLE users_phone_before_rollback AS SELECT id, phone FROM users WHERE phone IS NOT NULL;\nALTER TABLE users DROP COLUMN phone;',
      'ALTER TABLE users DROP COLUMN legacy_flag;',
    ],
  },
  checkFile(ctx) {
    if (ctx.direction !== 'down') return [];
    const losses = lossesOf(ctx.statements);
    if (losses.length === 0) return [];
    const lines = [...new Set(losses.map((l) => l.statement.line))];
    return [
      {
        line: losses[0]!.statement.line,
        message: `Data-loss rollback: this down destroys ${losses.map((l) => l.what).join(', ')}, on line${lines.length === 1 ? '' : 's'} ${lines.join(', ')}: whatever the application wrote there since the up ran is lost once it runs.`,
        rewrite: [
          'Keep the data, then drop the copies in a later migration once the rollback is settled:',
          ...losses.flatMap((l) => [l.keep, ...(l.keep.startsWith('ALTER') ? [] : [sqlOf(l.statement)])]).filter((x, i, all) => all.indexOf(x) === i),
          'Or, if rolling back after the application has written means restoring from backup, say so where the team will see it:',
          '-- flightdeck:ignore-file data-loss-rollback reason: rollback after writes = point-in-time restore',
        ].join('\n'),
      },
    ];
  },
  checkMysqlFile(ctx) {
    if (ctx.direction !== 'down') return [];
    const lost = ctx.analyses.flatMap((a) => (a?.changes ?? []).filter((c) => c.kind === 'drop-column' || c.kind === 'drop-table'));
    const wiped = ctx.statements.filter((s, i) => s.kind === 'TRUNCATE' || (s.kind === 'DELETE' && (ctx.analyses[i]?.notes ?? []).some((n) => /without WHERE/.test(n))));
    if (lost.length === 0 && wiped.length === 0) return [];
    const names = [...lost.map((c) => (c.kind === 'drop-column' ? `column ${c.table}.${c.column}` : `table ${c.table}`)), ...wiped.map((s) => `the rows removed at line ${s.line}`)];
    return [
      {
        line: lost.length ? ctx.statements[ctx.analyses.findIndex((a) => (a?.changes ?? []).some((c) => c.kind === 'drop-column' || c.kind === 'drop-table'))]?.line ?? 1 : wiped[0]!.line,
        message: `Data-loss rollback: this down drops ${names.join(', ')}; whatever the application wrote there since the up ran is lost.`,
        rewrite: 'Keep the data on the way down: rename instead of dropping (RENAME TABLE x TO x_rolled_back; for a column, copy it out first: CREATE TABLE x_col_backup AS SELECT id, col FROM x), or write in the runbook that rolling back after writes means restoring from the backup.',
      },
    ];
  },
};

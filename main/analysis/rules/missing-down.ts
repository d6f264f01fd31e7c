import { statementSummary, type PgStatement } from '../../migrations/split-postgres';
import { relName, typeName } from '../postgres-locks';
import { ident, qualified } from './index-without-concurrently';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
}
type Node = Record<string, unknown>;

const rv = (r: unknown) => qualified(relName(r as RangeVar));
const nameList = (list: unknown) => ((list as { String?: { sval?: string } }[] | undefined) ?? []).map((n) => ident(n.String?.sval ?? '')).join('.');

/** The down file's name for an up file, in the set's own naming. */
export function downFileName(up: string): string {
  const slash = up.lastIndexOf('/') + 1;
  const dir = up.slice(0, slash);
  const base = up.slice(slash);
  if (/\.up\.sql$/i.test(base)) return dir + base.replace(/\.up\.sql$/i, (m) => (m === m.toUpperCase() ? '.DOWN.SQL' : '.down.sql'));
  if (/_up\.sql$/i.test(base)) return dir + base.replace(/_up\.sql$/i, (m) => (m === m.toUpperCase() ? '_DOWN.SQL' : '_down.sql'));
  if (/^V\d/.test(base)) return dir + base.replace(/^V/, 'U');
  return `${up} (its down file)`;
}

function functionSignature(node: Node): string {
  const params = ((node.parameters as { FunctionParameter: { argType?: { arrayBounds?: unknown[] }; mode?: string } }[] | undefined) ?? []).map((p) => p.FunctionParameter);
  const args = params.filter((p) => p.mode !== 'FUNC_PARAM_OUT' && p.mode !== 'FUNC_PARAM_TABLE').map((p) => `${p.mode === 'FUNC_PARAM_VARIADIC' ? 'VARIADIC ' : ''}${typeName(p.argType)}${'[]'.repeat(p.argType?.arrayBounds?.length ?? 0)}`);
  return `${nameList(node.funcname)}(${args.join(', ')})`;
}

/** The statements that undo one up statement, or a comment saying why it cannot be computed;
 * [] for statements with nothing to undo (SET, BEGIN/COMMIT, SELECT). */
export function inverseOf(s: PgStatement): string[] {
  const n = s.node;
  const byHand = (why: string) => [`-- BY HAND (line ${s.line}, ${statementSummary(s.text, 70)}): ${why}`];
  switch (s.kind) {
    case 'VariableSetStmt':
    case 'TransactionStmt':
    case 'SelectStmt':
    case 'VacuumStmt':
      return [];
    case 'CreateStmt':
      return [`DROP TABLE ${n.if_not_exists ? 'IF EXISTS ' : ''}${rv(n.relation)};`];
    case 'CreateTableAsStmt': {
      const rel = (n.into as { rel?: RangeVar } | undefined)?.rel;
      return [`DROP ${n.objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED VIEW' : 'TABLE'} ${n.if_not_exists ? 'IF EXISTS ' : ''}${rv(rel)};`];
    }
    case 'IndexStmt': {
      if (typeof n.idxname !== 'string') return byHand('the index has no name, so PostgreSQL generated one: name it in the up to drop it by name here');
      const rel = n.relation as RangeVar;
      return [`DROP INDEX ${n.concurrent ? 'CONCURRENTLY ' : ''}IF EXISTS ${qualified(relName({ ...(rel.schemaname ? { schemaname: rel.schemaname } : {}), relname: n.idxname }))};`];
    }
    case 'AlterTableStmt': {
      if (n.objtype !== 'OBJECT_TABLE') return byHand('write its inverse by hand');
      const actions: string[] = [];
      const lost: string[] = [];
      const cmds = ((n.cmds as { AlterTableCmd: Node }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
      for (const c of [...cmds].reverse()) {
        const def = c.def as Node | undefined;
        switch (c.subtype) {
          case 'AT_AddColumn':
            actions.push(`DROP COLUMN ${c.missing_ok ? 'IF EXISTS ' : ''}${ident(String((def?.ColumnDef as Node | undefined)?.colname))}`);
            break;
          case 'AT_AddConstraint': {
            const con = def?.Constraint as { conname?: string } | undefined;
            if (con?.conname) actions.push(`DROP CONSTRAINT IF EXISTS ${ident(con.conname)}`);
            else lost.push('an unnamed constraint (PostgreSQL named it: name it in the up)');
            break;
          }
          case 'AT_SetNotNull':
            actions.push(`ALTER COLUMN ${ident(String(c.name))} DROP NOT NULL`);
            break;
          case 'AT_DropNotNull':
            actions.push(`ALTER COLUMN ${ident(String(c.name))} SET NOT NULL`);
            break;
          default:
            lost.push(String(c.subtype).replace(/^AT_/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase());
        }
      }
      return [
        ...(actions.length ? [`ALTER TABLE ${rv(n.relation)} ${actions.join(', ')};`] : []),
        ...(lost.length ? byHand(`the old state of ${lost.join(', ')} is not in the up: write it by hand`) : []),
      ];
    }
    case 'RenameStmt': {
      const from = ident(String(n.subname ?? ''));
      const to = ident(String(n.newname ?? ''));
      const rel = n.relation as RangeVar | undefined;
      if (n.renameType === 'OBJECT_COLUMN' && rel) return [`ALTER TABLE ${rv(rel)} RENAME COLUMN ${to} TO ${from};`];
      if (n.renameType === 'OBJECT_TABCONSTRAINT' && rel) return [`ALTER TABLE ${rv(rel)} RENAME CONSTRAINT ${to} TO ${from};`];
      if ((n.renameType === 'OBJECT_TABLE' || n.renameType === 'OBJECT_INDEX' || n.renameType === 'OBJECT_VIEW' || n.renameType === 'OBJECT_SEQUENCE') && rel) {
        const renamed = rel.schemaname ? `${ident(rel.schemaname)}.${to}` : to;
        const word = String(n.renameType).replace('OBJECT_', '');
        return [`ALTER ${word} ${renamed} RENAME TO ${ident(rel.relname)};`];
      }
      return byHand('rename it back by hand');
    }
    case 'CreateSeqStmt':
      return [`DROP SEQUENCE ${n.if_not_exists ? 'IF EXISTS ' : ''}${rv(n.sequence)};`];
    case 'ViewStmt':
      return n.replace ? byHand('CREATE OR REPLACE VIEW: restore the previous definition') : [`DROP VIEW ${rv(n.view)};`];
    case 'CreateEnumStmt':
      return [`DROP TYPE ${nameList(n.typeName)};`];
    case 'CreateSchemaStmt':
      return [`DROP SCHEMA ${n.if_not_exists ? 'IF EXISTS ' : ''}${ident(String(n.schemaname))};`];
    case 'CreateExtensionStmt':
      return [`DROP EXTENSION ${n.if_not_exists ? 'IF EXISTS ' : ''}${ident(String(n.extname))};`];
    case 'CreateTrigStmt':
      return [`DROP TRIGGER ${ident(String(n.trigname))} ON ${rv(n.relation)};`];
    case 'CreateFunctionStmt':
      return n.replace ? byHand('CREATE OR REPLACE: restore the previous definition') : [`DROP ${n.is_procedure ? 'PROCEDURE' : 'FUNCTION'} ${functionSignature(n)};`];
    case 'AlterEnumStmt':
      return byHand('PostgreSQL cannot drop an enum value: leave it, or recreate the type without it');
    default:
      return byHand('not computable from the up (data or a drop): restore it by hand, or from a backup');
  }
}

export const missingDown: Rule = {
  id: 'missing-down',
  title: 'Migration without a down',
  severity: 'error',
  why: 'Without a down, rolling back in the window means writing SQL under pressure while the incident runs, or restoring a backup and losing every write since. A down written and rehearsed with the up turns rollback into one tested step.',
  engines: ['postgres', 'mysql', 'mongodb'],
  examples: {
    bad: [
      'CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL, at timestamptz NOT NULL DEFAULT now());',
      'ALTER TABLE users ADD COLUMN last_login_at timestamptz;\nCREATE INDEX CONCURRENTLY users_last_login_at_idx ON users (last_login_at);',
    ],
    good: [
      '-- down up: CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL);\nDROP TABLE audit_log;',
      '-- down up: ALTER TABLE users ADD COLUMN last_login_at timestamptz;\nALTER TABLE users DROP COLUMN last_login_at;',
      '-- Intentionally empty: kept so the version numbers match the squashed history.\nSELECT 1;',
    ],
  },
  checkMongoFile(ctx) {
    if (ctx.analysis.error || ctx.analysis.functions.includes('down')) return [];
    return [{ message: `${ctx.file.file} exports no down function: it cannot be rolled back.`, rewrite: 'Add `async down(db, client) { … }` doing the inverse of up, newest change first (drop what up created, rename back, restore what up changed from a copy kept by up).' }];
  },
  checkMysqlFile(ctx) {
    if (ctx.direction !== 'up' || ctx.migration.down) return [];
    return [{ message: `Migration ${ctx.migration.version} (${ctx.file.file}) has no down file: it cannot be rolled back.`, rewrite: `Write the down file with the exact inverse of each statement, newest first (DROP TABLE for CREATE TABLE, DROP COLUMN for ADD COLUMN, DROP INDEX for ADD INDEX), named like its up (${ctx.file.file.replace(/^V/, 'U').replace(/\.up\.sql$/, '.down.sql').replace(/_up\.sql$/, '_down.sql')}).` }];
  },
  checkFile(ctx) {
    if (ctx.direction !== 'up') return [];
    // A down that exists but does nothing (as `migrate create` leaves it) is no down either.
    const emptyDown = ctx.migration.down && ctx.other && ctx.other.statements.every((x) => x.kind === 'VariableSetStmt' || x.kind === 'TransactionStmt');
    if (ctx.migration.down && !emptyDown) return [];
    const inverse = [...ctx.statements].reverse().flatMap(inverseOf);
    if (inverse.length === 0) return [];
    const exact = !inverse.some((l) => l.startsWith('-- BY HAND'));
    const name = ctx.migration.down ? ctx.migration.down.file : downFileName(ctx.file.file);
    return [
      {
        message: `${ctx.file.file} has ${emptyDown ? `an empty down (${name})` : 'no down'}: rolling back migration ${ctx.migration.version} would mean writing its inverse during the window.`,
        rewrite: `Write ${name}, the up's inverse in reverse order${exact ? '' : ' (write the BY HAND lines yourself)'}:\n${inverse.join('\n')}\n-- If the migration is irreversible by design, say so in the up: -- flightdeck:ignore-file missing-down reason: <why rollback means a restore>`,
      },
    ];
  },
};

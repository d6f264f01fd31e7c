import { relName } from '../postgres-locks';
import type { Rule } from './rule';

export const dropColumn: Rule = {
  id: 'drop-column',
  title: 'Column dropped while the application may still use it',
  severity: 'error',
  why: 'Running code that still reads or writes the column fails the moment it is gone (an ORM that lists every column fails even on reads), and the data cannot come back without a restore.',
  engines: ['postgres', 'mysql'],
  examples: {
    bad: ['ALTER TABLE users DROP COLUMN legacy_flag;'],
    good: ['CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;', 'ALTER TABLE users ADD COLUMN note text;', '-- down up: ALTER TABLE users ADD COLUMN note text;\nALTER TABLE users DROP COLUMN note;'],
  },
  checkStatement(ctx) {
    // In a down, dropping what the up added is the inverse; data-loss-rollback speaks for it.
    if (ctx.direction === 'down' || ctx.statement.kind !== 'AlterTableStmt') return [];
    const table = relName(ctx.statement.node.relation as { relname: string });
    if (ctx.createdEarlier.has(table)) return [];
    const cmds = ((ctx.statement.node.cmds as { AlterTableCmd: { subtype: string; name?: string } }[] | undefined) ?? []).map((c) => c.AlterTableCmd);
    return cmds
      .filter((c) => c.subtype === 'AT_DropColumn')
      .map((c) => ({
        message: `Drops column ${table}.${c.name} in one step.`,
        rewrite: `Contract in steps: 1) deploy code that no longer reads or writes ${c.name} (with an ORM, mark it ignored); 2) release and watch; 3) only then, in a later migration: ALTER TABLE ${table} DROP COLUMN ${c.name};`,
      }));
  },
  checkMysqlStatement(ctx) {
    if (ctx.direction === 'down') return [];
    return (ctx.analysis?.changes ?? [])
      .filter((c) => c.kind === 'drop-column' && !ctx.createdEarlier.has(c.table))
      .map((c) => ({
        message: `Drops column ${c.table}.${c.column} in one step.`,
        rewrite: `Contract in steps: 1) deploy code that no longer reads or writes ${c.column}; 2) release and watch; 3) only then, in a later migration: ALTER TABLE ${c.table} DROP COLUMN ${c.column}, ALGORITHM=INSTANT;`,
      }));
  },
};

import type { MigrationFile } from '../../migrations/migration-set';
import { splitPostgres } from '../../migrations/split-postgres';
import { relName } from '../postgres-locks';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
}

/** DROP's object names are written out with their schema; `public.t` is the `t` the rest names. */
const bare = (name: string) => name.replace(/^public\./, '');

function droppedTables(node: Record<string, unknown>): string[] {
  return ((node.objects as { List?: { items?: { String?: { sval?: string } }[] } }[] | undefined) ?? []).map((o) =>
    bare((o.List?.items ?? []).map((i) => i.String?.sval ?? '').filter(Boolean).join('.')),
  );
}

const createdByFile = new WeakMap<MigrationFile, Set<string>>();
/** Tables a file creates. In a down, a table its up created with IF NOT EXISTS counts too: the
 * down is that up's inverse, and data-loss-rollback already says what dropping it loses. */
function tablesCreatedBy(file: MigrationFile | undefined): Set<string> {
  if (!file) return new Set();
  let set = createdByFile.get(file);
  if (!set) {
    set = new Set();
    try {
      for (const s of splitPostgres(file.text, file.file)) {
        if (s.kind === 'CreateStmt') set.add(relName(s.node.relation as RangeVar));
        if (s.kind === 'CreateTableAsStmt') set.add(relName((s.node.into as { rel?: RangeVar } | undefined)?.rel));
      }
    } catch {
      // An up that does not parse is reported on its own; its down gets no exemption.
    }
    createdByFile.set(file, set);
  }
  return set;
}

export const dropTable: Rule = {
  id: 'drop-table',
  title: 'Table dropped while the application may still use it',
  severity: 'error',
  why: 'Running code that still reads or writes the table fails the moment it is gone, and its rows come back only from a backup (point-in-time recovery of the whole cluster, or a dump taken beforehand). DROP TABLE also waits for ACCESS EXCLUSIVE, so every query on the table queues behind any long transaction that touched it; CASCADE silently takes dependent views and foreign keys with it.',
  engines: ['postgres', 'mysql'],
  examples: {
    bad: [
      'DROP TABLE legacy_sessions;',
      'ALTER TABLE orders DROP CONSTRAINT orders_coupon_id_fkey;\nALTER TABLE orders DROP COLUMN coupon_id;\nDROP TABLE IF EXISTS coupons CASCADE;',
      '-- down, up: ALTER TABLE users ADD COLUMN locale text;\nALTER TABLE users DROP COLUMN locale;\nDROP TABLE user_preferences;',
    ],
    good: [
      'CREATE TABLE import_staging (id bigint, payload jsonb);\nINSERT INTO import_staging SELECT id, payload FROM raw_events;\nINSERT INTO events (id, payload) SELECT id, payload FROM import_staging;\nDROP TABLE import_staging;',
      '-- down, up: CREATE TABLE feature_flags (id bigint PRIMARY KEY, name text NOT NULL UNIQUE, enabled boolean NOT NULL DEFAULT false);\nDROP TABLE feature_flags;',
      'DROP VIEW IF EXISTS active_users;\nDROP INDEX CONCURRENTLY IF EXISTS users_email_idx;',
    ],
  },
  checkStatement(ctx) {
    if (ctx.statement.kind !== 'DropStmt' || ctx.statement.node.removeType !== 'OBJECT_TABLE') return [];
    // A down that drops what its own up created is the ordinary rollback of that up.
    const upCreated = ctx.direction === 'down' ? tablesCreatedBy(ctx.migration.up) : new Set<string>();
    const cascade = ctx.statement.node.behavior === 'DROP_CASCADE';
    return droppedTables(ctx.statement.node)
      .filter((t) => !ctx.createdEarlier.has(t) && !upCreated.has(t))
      .map((t) => ({
        message: `Drops table ${t} and all its rows in one step${cascade ? '; CASCADE also drops the views and foreign keys that depend on it' : ''}.`,
        rewrite: [
          `Contract in steps:`,
          `1) Deploy code that no longer reads or writes ${t}; release and watch (SELECT seq_scan, idx_scan, n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE relname = '${t.split('.').pop()}'; should stop growing).`,
          `2) Keep the data: pg_dump --table=${t} --format=custom --file=${t}.dump`,
          `3) Only then, in a later migration: SET lock_timeout = '5s'; DROP TABLE ${t};${cascade ? '  -- list the dependants first (\\d+ and pg_depend) and drop them explicitly instead of CASCADE' : ''}`,
        ].join('\n'),
      }));
  },
  checkMysqlStatement(ctx) {
    if (ctx.direction === 'down') return [];
    return (ctx.analysis?.changes ?? [])
      .filter((c) => c.kind === 'drop-table' && !ctx.createdEarlier.has(c.table))
      .map((c) => ({
        message: `Drops table ${c.table} in one step.`,
        rewrite: `1) Deploy code that no longer uses ${c.table}; 2) rename it aside in a later migration (RENAME TABLE ${c.table} TO ${c.table}_retired) so a mistake is one rename away; 3) drop ${c.table}_retired a release later, after a backup.`,
      }));
  },
};

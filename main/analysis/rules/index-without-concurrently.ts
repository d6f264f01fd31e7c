import type { PgStatement } from '../../migrations/split-postgres';
import { relName } from '../postgres-locks';
import type { Rule } from './rule';

interface RangeVar {
  schemaname?: string;
  relname: string;
  inh?: boolean;
}

// Helpers the other rules of this batch share (they import them from here).

export interface Created {
  tables: { has(name: string): boolean };
  indexes: { has(name: string): boolean };
}

/** Where each table and index of a file is first created (statement index), computed once per file:
 * the rules ask for every statement, and a file can hold thousands. */
const creations = new WeakMap<PgStatement[], { tables: Map<string, number>; indexes: Map<string, number> }>();

/** Tables and indexes created earlier in the file, before statement `index`: new, so nobody else
 * uses them yet and their locks block no one. A CREATE TABLE AS / materialized view is new too. */
export function createdBefore(statements: PgStatement[], index: number): Created {
  let c = creations.get(statements);
  if (!c) {
    c = { tables: new Map(), indexes: new Map() };
    for (const s of statements) {
      const add = (m: Map<string, number>, name: string) => {
        if (!m.has(name)) m.set(name, s.index);
      };
      if (s.kind === 'CreateStmt') add(c.tables, relName(s.node.relation as RangeVar));
      else if (s.kind === 'CreateTableAsStmt') {
        const rel = (s.node.into as { rel?: RangeVar } | undefined)?.rel;
        if (rel) add(c.tables, relName(rel));
      } else if (s.kind === 'IndexStmt' && typeof s.node.idxname === 'string') {
        // An index lives in its table's schema.
        const schema = (s.node.relation as RangeVar | undefined)?.schemaname;
        add(c.indexes, relName({ ...(schema ? { schemaname: schema } : {}), relname: s.node.idxname }));
      }
    }
    creations.set(statements, c);
  }
  const { tables, indexes } = c;
  return { tables: { has: (n) => (tables.get(n) ?? Infinity) < index }, indexes: { has: (n) => (indexes.get(n) ?? Infinity) < index } };
}

/** Whether a lock entry of the static analysis is on something created earlier in the file.
 * Index locks are named "<index> (index)": the table behind them is unknown statically. */
export function isNew(lockTable: string, created: Created): boolean {
  const m = /^(.*) \(index\)$/.exec(lockTable);
  return m ? created.indexes.has(m[1]!) : created.tables.has(lockTable);
}

/** The statement as SQL with one terminating semicolon. */
export function sqlOf(s: PgStatement): string {
  return `${s.text.replace(/;\s*$/, '')};`;
}

/** The file's own BEGIN whose block holds statement `index`, if any. */
export function explicitBlockOf(statements: PgStatement[], index: number): PgStatement | undefined {
  let begin: PgStatement | undefined;
  for (const s of statements.slice(0, index)) {
    if (s.control === 'begin') begin = s;
    else if (s.control === 'commit' || s.control === 'rollback') begin = undefined;
  }
  return begin;
}

const reserved = new Set(
  'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset on only or order placing primary references returning select session_user some symmetric system_user table then to trailing true union unique user using variadic when where window with'.split(' '),
);

/** An identifier as it must be written: quoted unless it is lower-case, plain and not reserved. */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !reserved.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A possibly schema-qualified name ("s.t", as relName writes it) as it must be written. */
export function qualified(name: string): string {
  return name.split('.').map(ident).join('.');
}

const rangeName = (r: RangeVar | undefined) => (r ? qualified(relName(r)) : '?');

function failedBuildNote(name: string | undefined): string {
  return name
    ? `-- If the build fails (a lock timeout, a deadlock, a duplicate for UNIQUE) it leaves an INVALID index behind: DROP INDEX CONCURRENTLY IF EXISTS ${name}; before trying again (IF NOT EXISTS would keep the invalid one). Flightdeck's runner drops it itself before a retry.`
    : '-- Name the index: if the build fails (a lock timeout, a deadlock, a duplicate for UNIQUE) it leaves an INVALID index behind that must be dropped (DROP INDEX CONCURRENTLY) before trying again, and a generated name is hard to find.';
}

export const indexWithoutConcurrently: Rule = {
  id: 'index-without-concurrently',
  title: 'Index built, dropped or rebuilt without CONCURRENTLY on a table in use',
  severity: 'warning',
  why: 'CREATE INDEX holds a SHARE lock for the whole build, so every INSERT, UPDATE and DELETE on the table waits until the index is finished (minutes on a large table); DROP INDEX and REINDEX INDEX take ACCESS EXCLUSIVE on the table (or on the index, blocking every query that would use it), so reads queue too. The CONCURRENTLY forms take SHARE UPDATE EXCLUSIVE, which lets reads and writes carry on.',
  engines: ['postgres'],
  examples: {
    bad: [
      'CREATE INDEX orders_customer_id_idx ON orders (customer_id);',
      "SET lock_timeout = '2s';\nCREATE UNIQUE INDEX users_email_key ON users (lower(email));",
      'DROP INDEX orders_legacy_status_idx;',
      'REINDEX INDEX orders_created_at_idx;',
    ],
    good: [
      'CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);',
      'CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint NOT NULL);\nCREATE INDEX invoices_customer_id_idx ON invoices (customer_id);',
      'DROP INDEX CONCURRENTLY IF EXISTS orders_legacy_status_idx;',
      'CREATE INDEX measurements_taken_at_idx ON ONLY measurements (taken_at);',
      'REINDEX INDEX CONCURRENTLY orders_created_at_idx;',
    ],
  },
  checkStatement(ctx) {
    const { statement: s, statements, index } = ctx;
    const node = s.node;
    if (s.kind !== 'IndexStmt' && s.kind !== 'DropStmt' && s.kind !== 'ReindexStmt') return [];
    const inBlock = explicitBlockOf(statements, index);
    const moveNote = inBlock ? `\n-- CONCURRENTLY cannot run inside the file's BEGIN (line ${inBlock.line}) … COMMIT: move it after the COMMIT.` : '';
    const runNote = '-- Flightdeck runs a CONCURRENTLY statement on its own, outside the file\'s transaction (with golang-migrate or psql -1, give it a migration file of its own).';

    if (s.kind === 'IndexStmt') {
      if (node.concurrent) return [];
      const rel = node.relation as RangeVar | undefined;
      // ON ONLY a partitioned parent builds nothing: it makes an invalid parent index for partitions to attach to.
      if (!rel || !rel.inh) return [];
      const table = relName(rel);
      if (ctx.createdEarlier.has(table) || createdBefore(statements, index).tables.has(table)) return [];
      const name = typeof node.idxname === 'string' ? relName({ ...(rel.schemaname ? { schemaname: rel.schemaname } : {}), relname: node.idxname }) : undefined;
      const text = sqlOf(s);
      const fixed = /^CREATE\s+(UNIQUE\s+)?INDEX\s/i.test(text) ? text.replace(/^(CREATE\s+(?:UNIQUE\s+)?INDEX)(\s)/i, '$1 CONCURRENTLY$2') : `CREATE ${node.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${name ? qualified(name) : ''} ON ${rangeName(rel)} (…);`;
      return [
        {
          message: `CREATE ${node.unique ? 'UNIQUE ' : ''}INDEX${name ? ` ${name}` : ''} on ${table} without CONCURRENTLY holds a SHARE lock for the whole build: every write to ${table} waits until it finishes.`,
          rewrite: `${fixed}\n${runNote}\n${failedBuildNote(name ? qualified(name) : undefined)}\n-- On a partitioned table CONCURRENTLY is refused: CREATE INDEX … ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX … ATTACH PARTITION for each.${moveNote}`,
        },
      ];
    }

    if (s.kind === 'DropStmt' && node.removeType === 'OBJECT_INDEX') {
      if (node.concurrent) return [];
      const created = createdBefore(statements, index);
      const objects = ((node.objects as { List?: { items?: { String?: { sval?: string } }[] } }[] | undefined) ?? []).map((o) => (o.List?.items ?? []).map((i) => i.String?.sval ?? '').filter(Boolean).join('.'));
      const existing = objects.filter((o) => !created.indexes.has(o));
      if (existing.length === 0) return [];
      const cascade = node.behavior === 'DROP_CASCADE' ? '\n-- DROP INDEX CONCURRENTLY does not take CASCADE: drop what depends on the index first.' : '';
      return [
        {
          message: `DROP INDEX ${existing.join(', ')} without CONCURRENTLY takes ACCESS EXCLUSIVE on the index's table: every read and write of it waits, and waits first for any long transaction using it.`,
          rewrite: `${existing.map((o) => `DROP INDEX CONCURRENTLY IF EXISTS ${qualified(o)};`).join('\n')}\n-- One index per statement: CONCURRENTLY drops one at a time.\n${runNote}${cascade}${moveNote}`,
        },
      ];
    }

    if (s.kind === 'ReindexStmt') {
      const concurrently = ((node.params as { DefElem?: { defname?: string } }[] | undefined) ?? []).some((p) => p.DefElem?.defname === 'concurrently');
      if (concurrently || node.kind === 'REINDEX_OBJECT_SYSTEM') return [];
      const rel = node.relation as RangeVar | undefined;
      const created = createdBefore(statements, index);
      let what: string;
      let target: string;
      if (node.kind === 'REINDEX_OBJECT_TABLE') {
        target = relName(rel);
        if (ctx.createdEarlier.has(target) || created.tables.has(target)) return [];
        what = 'TABLE';
      } else if (node.kind === 'REINDEX_OBJECT_INDEX') {
        target = relName(rel);
        if (created.indexes.has(target)) return [];
        what = 'INDEX';
      } else {
        what = node.kind === 'REINDEX_OBJECT_SCHEMA' ? 'SCHEMA' : 'DATABASE';
        target = typeof node.name === 'string' ? node.name : '';
      }
      const lockWord = what === 'INDEX' ? 'SHARE on the table (writes wait) and ACCESS EXCLUSIVE on the index (every query that would use it waits)' : 'SHARE on each table it rebuilds (writes wait) and ACCESS EXCLUSIVE on each index';
      return [
        {
          message: `REINDEX ${what}${target ? ` ${target}` : ''} without CONCURRENTLY takes ${lockWord} until the rebuild finishes.`,
          rewrite: `REINDEX ${what} CONCURRENTLY${target ? ` ${what === 'SCHEMA' || what === 'DATABASE' ? ident(target) : qualified(target)}` : ''};\n-- PostgreSQL 12 or later. ${runNote.slice(3)}\n-- A failed REINDEX CONCURRENTLY leaves an INVALID copy named <index>_ccnew: DROP INDEX CONCURRENTLY it before trying again.${moveNote}`,
        },
      ];
    }
    return [];
  },
};

// A normalised description of a database's schema, read from its catalogs: one entry per object
// (a column, an index, a constraint, a function, a trigger, a view, a type) with the definition the
// server itself prints for it. Two databases with the same schema have the same fingerprint
// whatever their data, OIDs, dropped-column holes or AUTO_INCREMENT counters; when they differ,
// the diff names each object added, removed or changed.
// Migration bookkeeping tables (schema_migrations, flightdeck_*, flyway_schema_history) are left
// out: they say where a database is in its history, not what its schema is.
// MongoDB has no catalog of columns: its schema is each collection's options (validator, capped,
// time series, collation), its indexes and its views, read with listCollections and listIndexes.
import { createHash } from 'node:crypto';
import { BSON, type Db } from 'mongodb';
import { isMongoSession, type MongoDbSession, type SqlSession } from '../connections/adapter';

export interface SchemaEntry {
  /** What the object is, e.g. "column public.orders.status" or "index public.orders_pkey". */
  key: string;
  definition: string;
}

export interface SchemaFingerprint {
  hash: string;
  entries: SchemaEntry[];
}

export interface SchemaDiff {
  same: boolean;
  added: SchemaEntry[];
  removed: SchemaEntry[];
  changed: { key: string; before: string; after: string }[];
}

const bookkeeping = ['schema_migrations', 'flyway_schema_history'];
const isBookkeeping = (table: string) => bookkeeping.includes(table) || table.startsWith('flightdeck_');

export async function schemaFingerprint(session: SqlSession | MongoDbSession): Promise<SchemaFingerprint> {
  if (isMongoSession(session)) return mongoSchemaFingerprint(session.mongo().db);
  return fingerprintOf(session.engine === 'postgres' ? await postgresEntries(session) : await mysqlEntries(session));
}

/** Sorted entries and their hash: the same objects give the same fingerprint whatever the order read. */
export function fingerprintOf(entries: SchemaEntry[]): SchemaFingerprint {
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.definition < b.definition ? -1 : 1));
  const hash = createHash('sha256');
  for (const e of entries) hash.update(`${e.key}\t${e.definition}\n`);
  return { hash: hash.digest('hex'), entries };
}

export function diffSchemas(before: SchemaFingerprint, after: SchemaFingerprint): SchemaDiff {
  const a = new Map(before.entries.map((e) => [e.key, e.definition]));
  const b = new Map(after.entries.map((e) => [e.key, e.definition]));
  const added = after.entries.filter((e) => !a.has(e.key));
  const removed = before.entries.filter((e) => !b.has(e.key));
  const changed = before.entries.filter((e) => b.has(e.key) && b.get(e.key) !== e.definition).map((e) => ({ key: e.key, before: e.definition, after: b.get(e.key)! }));
  return { same: before.hash === after.hash, added, removed, changed };
}

/** The diff as a DBA reads it: "+" only in the second, "-" only in the first, "~" changed. */
export function formatSchemaDiff(d: SchemaDiff, names: [string, string] = ['first', 'second']): string {
  if (d.same) return 'The schemas are identical.';
  const lines = [`Schema differences (- only in ${names[0]}, + only in ${names[1]}, ~ different):`];
  for (const e of d.removed) lines.push(`- ${e.key}: ${e.definition}`);
  for (const e of d.added) lines.push(`+ ${e.key}: ${e.definition}`);
  for (const c of d.changed) lines.push(`~ ${c.key}:\n    ${names[0]}: ${c.before}\n    ${names[1]}: ${c.after}`);
  return lines.join('\n');
}

/** Objects an extension created belong to the extension, which has its own entry with its version. */
const notInExtension = (oid: string, catalog: string) => `not exists (select 1 from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;
const userSchemas = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

async function postgresEntries(s: SqlSession): Promise<SchemaEntry[]> {
  const out: SchemaEntry[] = [];
  const skip = (table: string) => isBookkeeping(table);

  const rels = await s.query<{ schema: string; name: string; kind: string; persistence: string }>(
    `select n.nspname as schema, c.relname as name, c.relkind as kind, c.relpersistence as persistence
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where ${userSchemas} and c.relkind in ('r','p','v','m','f','S')
        and ${notInExtension('c.oid', 'pg_class')}`,
  );
  const kinds: Record<string, string> = { r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view', f: 'foreign table', S: 'sequence' };
  for (const r of rels) if (!skip(r.name)) out.push({ key: `${kinds[r.kind]} ${r.schema}.${r.name}`, definition: r.persistence === 'u' ? 'unlogged' : '' });

  const cols = await s.query<{ schema: string; rel: string; name: string; pos: string; type: string; notnull: boolean; def: string | null; identity: string; generated: string; collation: string | null }>(
    `select n.nspname as schema, c.relname as rel, a.attname as name,
            row_number() over (partition by c.oid order by a.attnum) as pos,
            format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
            pg_get_expr(d.adbin, d.adrelid) as def, a.attidentity as identity, a.attgenerated as generated,
            case when a.attcollation <> t.typcollation then co.collname end as collation
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
       join pg_type t on t.oid = a.atttypid
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       left join pg_collation co on co.oid = a.attcollation
      where ${userSchemas} and c.relkind in ('r','p','v','m','f') and a.attnum > 0 and not a.attisdropped and ${notInExtension('c.oid', 'pg_class')}`,
  );
  for (const c of cols) {
    if (skip(c.rel)) continue;
    const parts = [`#${c.pos}`, c.type, c.notnull ? 'not null' : 'null'];
    if (c.def) parts.push(`${c.generated === 's' ? 'generated always as' : 'default'} ${c.def}`);
    if (c.identity) parts.push(`identity ${c.identity === 'a' ? 'always' : 'by default'}`);
    if (c.collation) parts.push(`collate ${c.collation}`);
    out.push({ key: `column ${c.schema}.${c.rel}.${c.name}`, definition: parts.join(' ') });
  }

  const cons = await s.query<{ schema: string; rel: string; name: string; def: string; validated: boolean }>(
    `select n.nspname as schema, c.relname as rel, k.conname as name, pg_get_constraintdef(k.oid) as def, k.convalidated as validated
       from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
      where ${userSchemas}`,
  );
  for (const k of cons) if (!skip(k.rel)) out.push({ key: `constraint ${k.schema}.${k.rel}.${k.name}`, definition: `${k.def}${k.validated ? '' : ' (not validated)'}` });

  const idx = await s.query<{ schema: string; rel: string; name: string; def: string; valid: boolean }>(
    `select n.nspname as schema, t.relname as rel, c.relname as name, pg_get_indexdef(i.indexrelid) as def, i.indisvalid as valid
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      where ${userSchemas} and ${notInExtension('t.oid', 'pg_class')}`,
  );
  for (const i of idx) if (!skip(i.rel)) out.push({ key: `index ${i.schema}.${i.name}`, definition: `${i.def}${i.valid ? '' : ' (INVALID)'}` });

  const views = await s.query<{ schema: string; name: string; def: string }>(
    `select n.nspname as schema, c.relname as name, pg_get_viewdef(c.oid) as def
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${userSchemas} and c.relkind in ('v','m') and ${notInExtension('c.oid', 'pg_class')}`,
  );
  for (const v of views) out.push({ key: `view definition ${v.schema}.${v.name}`, definition: oneLine(v.def) });

  const funcs = await s.query<{ schema: string; name: string; args: string; def: string }>(
    `select n.nspname as schema, p.proname as name, pg_get_function_identity_arguments(p.oid) as args, pg_get_functiondef(p.oid) as def
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where ${userSchemas} and p.prokind in ('f','p','w')
        and ${notInExtension('p.oid', 'pg_proc')}`,
  );
  for (const f of funcs) out.push({ key: `routine ${f.schema}.${f.name}(${f.args})`, definition: oneLine(f.def) });

  const trig = await s.query<{ schema: string; rel: string; name: string; def: string; enabled: string }>(
    `select n.nspname as schema, c.relname as rel, t.tgname as name, pg_get_triggerdef(t.oid) as def, t.tgenabled as enabled
       from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where ${userSchemas} and not t.tgisinternal`,
  );
  for (const t of trig) out.push({ key: `trigger ${t.schema}.${t.rel}.${t.name}`, definition: `${t.def}${t.enabled === 'D' ? ' (disabled)' : ''}` });

  const types = await s.query<{ schema: string; name: string; kind: string; labels: string | null; base: string | null; notnull: boolean; def: string | null }>(
    `select n.nspname as schema, t.typname as name, t.typtype as kind,
            (select string_agg(quote_literal(e.enumlabel), ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) as labels,
            case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end as base, t.typnotnull as notnull, t.typdefault as def
       from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where ${userSchemas} and (t.typtype in ('e','d') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
        and ${notInExtension('t.oid', 'pg_type')}`,
  );
  for (const t of types) {
    const def = t.kind === 'e' ? `enum (${t.labels ?? ''})` : t.kind === 'd' ? `domain ${t.base}${t.notnull ? ' not null' : ''}${t.def ? ` default ${t.def}` : ''}` : 'composite';
    out.push({ key: `type ${t.schema}.${t.name}`, definition: def });
  }

  const seqs = await s.query<{ schema: string; name: string; type: string; inc: string; min: string; max: string; cycle: boolean }>(
    `select schemaname as schema, sequencename as name, data_type::text as type, increment_by::text as inc, min_value::text as min, max_value::text as max, cycle from pg_sequences`,
  );
  for (const q of seqs) if (!q.name.startsWith('flightdeck_')) out.push({ key: `sequence ${q.schema}.${q.name}`, definition: `${q.type} increment ${q.inc} min ${q.min} max ${q.max}${q.cycle ? ' cycle' : ''}` });

  const ext = await s.query<{ name: string; version: string; schema: string }>(`select e.extname as name, e.extversion as version, n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace`);
  for (const e of ext) out.push({ key: `extension ${e.name}`, definition: `${e.version} in ${e.schema}` });
  return out;
}

async function mysqlEntries(s: SqlSession): Promise<SchemaEntry[]> {
  const out: SchemaEntry[] = [];
  const tables = await s.query<{ name: string; type: string; engine: string | null; collation: string | null }>(
    'SELECT TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine, TABLE_COLLATION AS collation FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  for (const t of tables) if (!isBookkeeping(t.name)) out.push({ key: `${t.type === 'VIEW' ? 'view' : 'table'} ${t.name}`, definition: t.type === 'VIEW' ? '' : `${t.engine ?? ''} ${t.collation ?? ''}`.trim() });

  const cols = await s.query<{ tbl: string; name: string; pos: number; type: string; nullable: string; def: string | null; extra: string; collation: string | null; comment: string }>(
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, ORDINAL_POSITION AS pos, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
            COLUMN_DEFAULT AS def, EXTRA AS extra, COLLATION_NAME AS collation, COLUMN_COMMENT AS comment
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`,
  );
  for (const c of cols) {
    if (isBookkeeping(c.tbl)) continue;
    const parts = [`#${c.pos}`, c.type, c.nullable === 'YES' ? 'null' : 'not null'];
    if (c.def !== null) parts.push(`default ${c.def}`);
    if (c.extra) parts.push(c.extra);
    if (c.collation) parts.push(`collate ${c.collation}`);
    if (c.comment) parts.push(`comment ${JSON.stringify(c.comment)}`);
    out.push({ key: `column ${c.tbl}.${c.name}`, definition: parts.join(' ') });
  }

  const idx = await s.query<{ tbl: string; name: string; nonUnique: number; cols: string; type: string }>(
    `SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, MAX(NON_UNIQUE) AS nonUnique, INDEX_TYPE AS type,
            GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), ''), IF(COLLATION = 'D', ' DESC', '')) ORDER BY SEQ_IN_INDEX SEPARATOR ', ') AS cols
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, INDEX_TYPE`,
  );
  for (const i of idx) if (!isBookkeeping(i.tbl)) out.push({ key: `index ${i.tbl}.${i.name}`, definition: `${Number(i.nonUnique) ? '' : 'unique '}${i.type} (${i.cols})` });

  const fks = await s.query<{ tbl: string; name: string; cols: string; ref: string; refCols: string; upd: string; del: string }>(
    `SELECT k.TABLE_NAME AS tbl, k.CONSTRAINT_NAME AS name, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS cols,
            k.REFERENCED_TABLE_NAME AS ref, GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS refCols,
            r.UPDATE_RULE AS upd, r.DELETE_RULE AS del
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
      WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
      GROUP BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE`,
  );
  for (const f of fks) out.push({ key: `foreign key ${f.tbl}.${f.name}`, definition: `(${f.cols}) references ${f.ref} (${f.refCols}) on update ${f.upd} on delete ${f.del}` });

  const checks = await s
    .query<{ tbl: string; name: string; clause: string }>('SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()')
    .catch(() => [] as { tbl: string; name: string; clause: string }[]);
  for (const c of checks) out.push({ key: `check ${c.tbl}.${c.name}`, definition: oneLine(c.clause) });

  const views = await s.query<{ name: string; def: string }>('SELECT TABLE_NAME AS name, VIEW_DEFINITION AS def FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()');
  for (const v of views) out.push({ key: `view definition ${v.name}`, definition: oneLine(v.def) });

  const routines = await s.query<{ name: string; type: string; returns: string | null; body: string; params: string | null }>(
    `SELECT r.ROUTINE_NAME AS name, r.ROUTINE_TYPE AS type, r.DTD_IDENTIFIER AS returns, r.ROUTINE_DEFINITION AS body,
            (SELECT GROUP_CONCAT(CONCAT_WS(' ', p.PARAMETER_MODE, p.PARAMETER_NAME, p.DTD_IDENTIFIER) ORDER BY p.ORDINAL_POSITION SEPARATOR ', ')
               FROM information_schema.PARAMETERS p WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.SPECIFIC_NAME AND p.ORDINAL_POSITION > 0) AS params
       FROM information_schema.ROUTINES r WHERE r.ROUTINE_SCHEMA = DATABASE()`,
  );
  for (const r of routines) out.push({ key: `${r.type.toLowerCase()} ${r.name}`, definition: oneLine(`(${r.params ?? ''})${r.returns ? ` returns ${r.returns}` : ''} ${r.body}`) });

  const triggers = await s.query<{ name: string; tbl: string; timing: string; event: string; body: string }>(
    'SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl, ACTION_TIMING AS timing, EVENT_MANIPULATION AS event, ACTION_STATEMENT AS body FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()',
  );
  for (const t of triggers) out.push({ key: `trigger ${t.tbl}.${t.name}`, definition: oneLine(`${t.timing} ${t.event} ${t.body}`) });
  return out;
}

// ---------------------------------------------------------------------------------------------
// MongoDB

/** Collections that are not the application's: the server's own (system.*), and the migration
 * bookkeeping of migrate-mongo (changelog, changelog_lock) and Flightdeck (flightdeck_*). */
export function isMongoBookkeeping(collection: string): boolean {
  return collection.startsWith('system.') || collection === 'changelog' || collection === 'changelog_lock' || collection.startsWith('flightdeck_');
}

/** What listCollections reports for one collection or view. */
export interface MongoCollectionInfo {
  name: string;
  type?: string;
  options?: Record<string, unknown>;
}

/** What listIndexes reports for one index. */
export interface MongoIndexInfo {
  name: string;
  key: Record<string, unknown>;
  [option: string]: unknown;
}

/** A value as relaxed Extended JSON: 1, 1.0 and NumberLong(1) are one number; dates, ObjectIds and
 * regular expressions keep their type. */
function plain(v: unknown): unknown {
  return (BSON.EJSON.serialize({ v } as Record<string, unknown>, { relaxed: true }) as { v: unknown }).v;
}

/** JSON with object keys sorted, at every depth, where their order means nothing (options,
 * validators, filters); kept as written where it matters (an index key, a view's pipeline). */
export function canonicalJson(v: unknown, sortKeys = true): string {
  const walk = (x: unknown): string => {
    if (Array.isArray(x)) return `[${x.map(walk).join(',')}]`;
    if (x !== null && typeof x === 'object') {
      const keys = Object.keys(x);
      if (sortKeys) keys.sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${walk((x as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    return JSON.stringify(x) ?? 'null';
  };
  return walk(plain(v));
}

/** The server fills a collation in with every default and the ICU version it was built with; the
 * version says which server made it, not what the collation is. */
function collation(c: unknown): unknown {
  if (c === null || typeof c !== 'object') return c;
  const { version: _version, ...rest } = c as Record<string, unknown>;
  return rest;
}

/** Collection options that are schema; runtime and storage details (uuid, storageEngine,
 * indexOptionDefaults) are not. The validator has an entry of its own. */
const collectionOptions = ['capped', 'size', 'max', 'timeseries', 'expireAfterSeconds', 'collation', 'clusteredIndex', 'changeStreamPreAndPostImages', 'encryptedFields'];

/** Index properties that say which server built the index, not what it is. */
const indexNoise = new Set(['v', 'key', 'name', 'ns', 'background', 'unique', 'sparse', 'hidden', 'textIndexVersion', '2dsphereIndexVersion']);

/**
 * One entry per collection (its kind and options), per validator, per index (its key in order, then
 * unique, sparse, hidden and every other option) and per view (its source, pipeline and collation),
 * for the application's collections only. `indexes` holds listIndexes for each collection.
 */
export function mongoSchemaEntries(collections: MongoCollectionInfo[], indexes: Map<string, MongoIndexInfo[]>): SchemaEntry[] {
  const out: SchemaEntry[] = [];
  for (const c of collections) {
    if (isMongoBookkeeping(c.name)) continue;
    const o = c.options ?? {};
    const type = c.type ?? 'collection';
    if (type === 'view') {
      out.push({ key: `view ${c.name}`, definition: `on ${String(o.viewOn ?? '')} pipeline ${canonicalJson(o.pipeline ?? [], false)}${o.collation ? ` collation=${canonicalJson(collation(o.collation))}` : ''}` });
      continue;
    }
    const parts = [type];
    for (const k of [...collectionOptions].sort()) {
      const v = o[k];
      if (v === undefined || v === false) continue;
      parts.push(`${k}=${canonicalJson(k === 'collation' ? collation(v) : v)}`);
    }
    out.push({ key: `collection ${c.name}`, definition: parts.join(' ') });
    const validator = o.validator as Record<string, unknown> | undefined;
    if (validator && Object.keys(validator).length) {
      // A validator without a level or action has the server's defaults: strict, error.
      out.push({ key: `validator ${c.name}`, definition: `${canonicalJson(validator)} level=${String(o.validationLevel ?? 'strict')} action=${String(o.validationAction ?? 'error')}` });
    }
    for (const i of indexes.get(c.name) ?? []) {
      const flags = ['unique', 'sparse', 'hidden'].filter((f) => i[f] === true);
      const rest = Object.keys(i)
        .filter((k) => !indexNoise.has(k) && i[k] !== undefined)
        .sort()
        .map((k) => `${k}=${canonicalJson(k === 'collation' ? collation(i[k]) : i[k])}`);
      out.push({ key: `index ${c.name}.${i.name}`, definition: [canonicalJson(i.key, false), ...flags, ...rest].join(' ') });
    }
  }
  return out;
}

export async function mongoSchemaFingerprint(db: Db): Promise<SchemaFingerprint> {
  const collections = (await db.listCollections({}, { nameOnly: false }).toArray()) as MongoCollectionInfo[];
  const indexes = new Map<string, MongoIndexInfo[]>();
  for (const c of collections) {
    if (isMongoBookkeeping(c.name) || c.type === 'view') continue;
    try {
      indexes.set(c.name, (await db.collection(c.name).listIndexes().toArray()) as MongoIndexInfo[]);
    } catch (e) {
      // Dropped between the two calls: it is gone from the schema too.
      if ((e as { codeName?: string }).codeName !== 'NamespaceNotFound') throw e;
    }
  }
  return fingerprintOf(mongoSchemaEntries(collections, indexes));
}

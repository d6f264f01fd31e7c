// Phase 1 for migrate-mongo files: the up and down functions are read from the JavaScript syntax
// tree (acorn), and every driver call in them that changes the schema or the data is listed as a
// "statement": collection drops and renames, index builds and drops, validator changes, bulk
// updates and deletes, aggregations that write ($out, $merge). What a call does is known from its
// name; which collection it touches from the nearest db.collection('…') / db.<method>('…') literal.
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';
import type { BlockLevel, StatementClass } from '../../shared/plan';
import type { Change } from './postgres-locks';

export interface MongoCall {
  fn: 'up' | 'down';
  line: number;
  index: number;
  command: string;
  collection: string | null;
  class: StatementClass;
  blocks: BlockLevel;
  notes: string[];
  changes: Change[];
  /** The call's source text, shortened. */
  text: string;
  /** An updateMany/deleteMany without a filter (or with {}): every document. */
  unfiltered?: boolean;
}

export interface MongoFileAnalysis {
  functions: ('up' | 'down')[];
  calls: MongoCall[];
  error?: { line: number; message: string };
}

type Node = acorn.Node & Record<string, unknown>;

const collectionMethods: Record<string, Omit<MongoCall, 'fn' | 'line' | 'index' | 'collection' | 'text' | 'changes'> & { change?: string }> = {
  drop: { command: 'collection.drop()', class: 'backward-incompatible', blocks: 'reads-and-writes', notes: ['dropping a collection takes an exclusive lock on it and removes its data for good'], change: 'drop-table' },
  rename: { command: 'collection.rename()', class: 'backward-incompatible', blocks: 'reads-and-writes', notes: ['a rename breaks every client still using the old name'], change: 'rename-table' },
  createIndex: { command: 'createIndex()', class: 'backward-compatible', blocks: 'nothing', notes: ['index builds (MongoDB 4.2+) hold an exclusive lock only at the start and end; a unique index fails on existing duplicates'] },
  createIndexes: { command: 'createIndexes()', class: 'backward-compatible', blocks: 'nothing', notes: ['index builds (MongoDB 4.2+) hold an exclusive lock only at the start and end'] },
  dropIndex: { command: 'dropIndex()', class: 'backward-compatible', blocks: 'nothing', notes: ['queries that hinted or relied on the index slow down at once'] },
  dropIndexes: { command: 'dropIndexes()', class: 'backward-compatible', blocks: 'nothing', notes: ['every secondary index goes: queries slow down at once'] },
  updateMany: { command: 'updateMany()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  updateOne: { command: 'updateOne()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  replaceOne: { command: 'replaceOne()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  deleteMany: { command: 'deleteMany()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  deleteOne: { command: 'deleteOne()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  insertMany: { command: 'insertMany()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  insertOne: { command: 'insertOne()', class: 'data-transformation', blocks: 'nothing', notes: [] },
  bulkWrite: { command: 'bulkWrite()', class: 'data-transformation', blocks: 'nothing', notes: [] },
};

const dbMethods: Record<string, Omit<MongoCall, 'fn' | 'line' | 'index' | 'collection' | 'text' | 'changes'> & { change?: string }> = {
  createCollection: { command: 'db.createCollection()', class: 'backward-compatible', blocks: 'nothing', notes: [] },
  dropCollection: { command: 'db.dropCollection()', class: 'backward-incompatible', blocks: 'reads-and-writes', notes: ['dropping a collection takes an exclusive lock on it and removes its data for good'], change: 'drop-table' },
  renameCollection: { command: 'db.renameCollection()', class: 'backward-incompatible', blocks: 'reads-and-writes', notes: ['a rename breaks every client still using the old name'], change: 'rename-table' },
  dropDatabase: { command: 'db.dropDatabase()', class: 'backward-incompatible', blocks: 'reads-and-writes', notes: ['drops every collection of the database'] },
};

function stringArg(n: unknown): string | null {
  const a = n as { type?: string; value?: unknown; quasis?: { value: { cooked: string } }[]; expressions?: unknown[] } | undefined;
  if (a?.type === 'Literal' && typeof a.value === 'string') return a.value;
  if (a?.type === 'TemplateLiteral' && a.expressions?.length === 0) return a.quasis?.[0]?.value.cooked ?? null;
  return null;
}

/** The collection a call's receiver names: db.collection('x').updateMany(…) → 'x'. */
function receiverCollection(callee: Node): string | null {
  let obj = callee.object as Node | undefined;
  while (obj) {
    if (obj.type === 'CallExpression') {
      const c = obj.callee as Node;
      if (c.type === 'MemberExpression' && (c.property as Node & { name?: string }).name === 'collection') return stringArg((obj.arguments as unknown[])[0]);
      obj = c.type === 'MemberExpression' ? (c.object as Node) : undefined;
    } else if (obj.type === 'MemberExpression') {
      obj = obj.object as Node;
    } else return null;
  }
  return null;
}

function isEmptyFilter(n: unknown): boolean {
  const a = n as { type?: string; properties?: unknown[] } | undefined;
  return !a || (a.type === 'ObjectExpression' && (a.properties?.length ?? 0) === 0);
}

/** The up and down function nodes, from every shape migrate-mongo accepts. */
function migrationFunctions(ast: acorn.Program): Partial<Record<'up' | 'down', Node>> {
  const out: Partial<Record<'up' | 'down', Node>> = {};
  const fromObject = (obj: Node) => {
    for (const p of (obj.properties as Node[]) ?? []) {
      const key = ((p.key as Node & { name?: string; value?: string }) ?? {}) as { name?: string; value?: string };
      const name = key.name ?? key.value;
      if (name === 'up' || name === 'down') out[name] = (p.type === 'Property' ? (p.value as Node) : p) as Node;
    }
  };
  walk.simple(ast, {
    AssignmentExpression(n) {
      const node = n as unknown as Node;
      const left = node.left as Node & { object?: Node & { name?: string; object?: Node & { name?: string }; property?: Node & { name?: string } }; property?: Node & { name?: string } };
      if (left.type !== 'MemberExpression') return;
      const prop = left.property?.name;
      const obj = left.object;
      const isModuleExports = (o: typeof obj) => o?.type === 'MemberExpression' && o.object?.name === 'module' && o.property?.name === 'exports';
      // module.exports = { up, down }
      if (obj?.type === 'Identifier' && obj.name === 'module' && prop === 'exports' && (node.right as Node).type === 'ObjectExpression') fromObject(node.right as Node);
      // exports.up = … / module.exports.up = …
      if ((prop === 'up' || prop === 'down') && ((obj?.type === 'Identifier' && obj.name === 'exports') || isModuleExports(obj))) out[prop] = node.right as Node;
    },
    ExportDefaultDeclaration(n) {
      const d = (n as unknown as Node).declaration as Node;
      if (d.type === 'ObjectExpression') fromObject(d);
    },
    ExportNamedDeclaration(n) {
      const d = (n as unknown as Node).declaration as Node | null;
      if (!d) return;
      if (d.type === 'FunctionDeclaration') {
        const name = (d.id as Node & { name?: string }).name;
        if (name === 'up' || name === 'down') out[name] = d;
      }
      if (d.type === 'VariableDeclaration') {
        for (const v of d.declarations as Node[]) {
          const name = (v.id as Node & { name?: string }).name;
          if ((name === 'up' || name === 'down') && v.init) out[name] = v.init as Node;
        }
      }
    },
  });
  return out;
}

export function analyseMongoFile(text: string): MongoFileAnalysis {
  let ast: acorn.Program;
  try {
    ast = acorn.parse(text, { ecmaVersion: 'latest', sourceType: 'module', locations: true, allowHashBang: true, allowAwaitOutsideFunction: true });
  } catch {
    try {
      ast = acorn.parse(text, { ecmaVersion: 'latest', sourceType: 'script', locations: true, allowHashBang: true });
    } catch (e) {
      const loc = (e as { loc?: { line: number } }).loc;
      return { functions: [], calls: [], error: { line: loc?.line ?? 1, message: (e as Error).message } };
    }
  }
  const fns = migrationFunctions(ast);
  const calls: MongoCall[] = [];
  for (const fn of ['up', 'down'] as const) {
    const body = fns[fn];
    if (!body) continue;
    walk.simple(body as acorn.Node, {
      CallExpression(n) {
        const node = n as unknown as Node;
        const callee = node.callee as Node;
        if (callee.type !== 'MemberExpression') return;
        const method = (callee.property as Node & { name?: string }).name ?? '';
        const args = (node.arguments as unknown[]) ?? [];
        const onDb = (callee.object as Node & { name?: string }).type === 'Identifier' && (callee.object as Node & { name?: string }).name === 'db';
        let def = onDb ? dbMethods[method] : undefined;
        let collection: string | null = null;
        if (def) collection = stringArg(args[0]);
        else if (collectionMethods[method] && receiverCollection(callee) !== null) {
          def = collectionMethods[method];
          collection = receiverCollection(callee);
        } else if (method === 'command' && onDb) {
          const props = ((args[0] as Node | undefined)?.properties as Node[] | undefined) ?? [];
          const first = props[0] as (Node & { key?: Node & { name?: string; value?: string }; value?: unknown }) | undefined;
          const cmd = first?.key?.name ?? first?.key?.value;
          if (cmd === 'collMod') def = { command: 'db.command({collMod})', class: 'backward-incompatible', blocks: 'nothing', notes: ['a new validator applies to every later write: old code writing documents it rejects starts failing'] };
          else if (cmd === 'drop') def = dbMethods.dropCollection;
          collection = stringArg(first?.value);
        } else if (method === 'aggregate') {
          const src = text.slice(node.start, node.end);
          if (/\$out|\$merge/.test(src)) def = { command: 'aggregate($out/$merge)', class: 'data-transformation', blocks: 'nothing', notes: ['$out replaces the target collection whole when it finishes'] };
          collection = receiverCollection(callee);
        }
        if (!def) return;
        const unfiltered = (method === 'updateMany' || method === 'deleteMany') && isEmptyFilter(args[0]);
        const to = method === 'rename' ? stringArg(args[0]) : method === 'renameCollection' ? stringArg(args[1]) : null;
        const source = text.slice(node.start, node.end).replace(/\s+/g, ' ');
        calls.push({
          fn,
          line: (node.loc as acorn.SourceLocation).start.line,
          index: calls.length,
          command: def.command,
          collection,
          class: def.class,
          blocks: def.blocks,
          notes: [...def.notes, ...(unfiltered ? [`${method} with an empty filter touches every document of ${collection ?? 'the collection'} in one operation`] : [])],
          changes: def.change && collection ? [{ kind: def.change, table: collection, ...(to ? { to } : {}) }] : [],
          text: source.length > 120 ? `${source.slice(0, 119)}…` : source,
          ...(unfiltered ? { unfiltered } : {}),
        });
      },
    });
  }
  return { functions: (['up', 'down'] as const).filter((f) => fns[f]), calls };
}

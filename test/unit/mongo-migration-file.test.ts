// Loading and calling migrate-mongo migration files, without a server: every module style a team may
// have written, callback-style functions, and the errors a broken file gives (file and line).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightdeckError } from '../../shared/errors';
import { normalisedChecksum } from '../../main/migrations/migration-set';
import { describeMigrationError, invokeMigration, loadMongoMigration, parameterNames, takesCallback, type MigrationFunction } from '../../main/migrations/mongo-migration-file';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-mongo-files-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string, sub = ''): Promise<{ file: string; absPath: string }> {
  const folder = path.join(dir, sub);
  await fs.mkdir(folder, { recursive: true });
  const absPath = path.join(folder, name);
  await fs.writeFile(absPath, text);
  return { file: name, absPath };
}

async function caught(p: Promise<unknown>): Promise<FlightdeckError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** A stand-in for the driver's Db: records what the migration called. */
function fakeDb() {
  const calls: string[] = [];
  return {
    calls,
    collection: (name: string) => ({
      createIndex: async (spec: unknown) => void calls.push(`${name}.createIndex ${JSON.stringify(spec)}`),
      dropIndex: async (idx: string) => void calls.push(`${name}.dropIndex ${idx}`),
    }),
  };
}
const fakeClient = { name: 'client' };

describe('loading migrate-mongo files', () => {
  it('loads CommonJS (module.exports) and calls up and down with (db, client)', async () => {
    const f = await write(
      '20240101000000-users-email.js',
      `module.exports = {
  async up(db, client) {
    await db.collection('users').createIndex({ email: 1 });
    if (client.name !== 'client') throw new Error('no client');
  },
  async down(db) {
    await db.collection('users').dropIndex('email_1');
  },
};
`,
    );
    const m = await loadMongoMigration(f);
    expect(typeof m.up).toBe('function');
    expect(typeof m.down).toBe('function');
    expect(m.checksum).toBe(normalisedChecksum(await fs.readFile(f.absPath, 'utf8')));
    const db = fakeDb();
    await invokeMigration(m.up!, db, fakeClient);
    await invokeMigration(m.down!, db, fakeClient);
    expect(db.calls).toEqual(['users.createIndex {"email":1}', 'users.dropIndex email_1']);
  });

  it('loads .cjs files', async () => {
    const f = await write('20240101000001-x.cjs', `exports.up = async (db) => { await db.collection('a').createIndex({ a: 1 }); };\nexports.down = async () => {};\n`);
    const m = await loadMongoMigration(f);
    const db = fakeDb();
    await invokeMigration(m.up!, db, fakeClient);
    expect(db.calls).toEqual(['a.createIndex {"a":1}']);
  });

  it('loads an ES module (.mjs) with named exports', async () => {
    const f = await write('20240101000002-orders.mjs', `export const up = async (db, client) => {\n  await db.collection('orders').createIndex({ at: -1 });\n};\nexport async function down(db) {\n  await db.collection('orders').dropIndex('at_-1');\n}\n`);
    const m = await loadMongoMigration(f);
    const db = fakeDb();
    await invokeMigration(m.up!, db, fakeClient);
    await invokeMigration(m.down!, db, fakeClient);
    expect(db.calls).toEqual(['orders.createIndex {"at":-1}', 'orders.dropIndex at_-1']);
  });

  it('loads an ES module with export default { up, down }', async () => {
    const f = await write('20240101000003-default.mjs', `export default {\n  async up(db) { await db.collection('d').createIndex({ d: 1 }); },\n  async down() {},\n};\n`);
    const m = await loadMongoMigration(f);
    expect(typeof m.down).toBe('function');
    const db = fakeDb();
    await invokeMigration(m.up!, db, fakeClient);
    expect(db.calls).toEqual(['d.createIndex {"d":1}']);
  });

  it('loads a .js ES module in a "type": "module" package, as migrate-mongo\'s esm samples are', async () => {
    await write('package.json', '{ "type": "module" }\n', 'esm-package');
    const f = await write('20240101000004-esm.js', `export const up = async (db) => { await db.collection('e').createIndex({ e: 1 }); };\nexport const down = async () => {};\n`, 'esm-package');
    const m = await loadMongoMigration(f);
    const db = fakeDb();
    await invokeMigration(m.up!, db, fakeClient);
    expect(db.calls).toEqual(['e.createIndex {"e":1}']);
  });

  it('loads the current content when a file changes between two loads', async () => {
    const f = await write('20240101000005-edited.js', 'module.exports = { async up(db) { await db.collection("v1").createIndex({ a: 1 }); } };\n');
    await loadMongoMigration(f);
    await fs.writeFile(f.absPath, 'module.exports = { async up(db) { await db.collection("v2").createIndex({ a: 1 }); } };\n');
    const m = await loadMongoMigration(f);
    const db = fakeDb();
    await invokeMigration(m.up!, db, fakeClient);
    expect(db.calls).toEqual(['v2.createIndex {"a":1}']);

    const g = await write('20240101000006-edited.mjs', 'export const up = async (db) => { await db.collection("v1").createIndex({ a: 1 }); };\n');
    await loadMongoMigration(g);
    await fs.writeFile(g.absPath, 'export const up = async (db) => { await db.collection("v2").createIndex({ b: 1 }); };\n');
    const n = await loadMongoMigration(g);
    const db2 = fakeDb();
    await invokeMigration(n.up!, db2, fakeClient);
    expect(db2.calls).toEqual(['v2.createIndex {"b":1}']);
  });

  it('a file without a down function loads, with no down', async () => {
    const f = await write('20240101000007-no-down.js', 'module.exports = { async up() {} };\n');
    const m = await loadMongoMigration(f);
    expect(m.up).toBeTypeOf('function');
    expect(m.down).toBeUndefined();
  });

  it('a file that exports no up or down is refused, naming the file', async () => {
    const f = await write('20240101000008-empty-exports.js', 'module.exports = { upp() {} };\n');
    const e = await caught(loadMongoMigration(f));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toContain('20240101000008-empty-exports.js exports no up or down function');
  });

  it('a syntax error in a CommonJS file is MIGRATION_SYNTAX with file, line and column', async () => {
    const f = await write('20240101000009-broken.js', `module.exports = {\n  async up(db) {\n    await db.collection('x').updateMany({}, { $set: { a: 1 } };\n  },\n};\n`);
    const e = await caught(loadMongoMigration(f));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toMatch(/^20240101000009-broken\.js:3:\d+: /);
    expect(e.message).toContain("await db.collection('x').updateMany");
    expect(e.message).toContain('nothing was applied');
    expect(e.hint).toContain('line 3');
    expect(e.details).toMatchObject({ file: '20240101000009-broken.js', line: 3 });
  });

  it('a syntax error in an ES module is MIGRATION_SYNTAX with file and line too', async () => {
    const f = await write('20240101000010-broken.mjs', `export const up = async (db) => {\n  const filter = { status: 'old' };\n  let x = ;\n};\n`);
    const e = await caught(loadMongoMigration(f));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toMatch(/^20240101000010-broken\.mjs:3(:\d+)?: .*Unexpected token/);
    expect(e.details).toMatchObject({ line: 3 });
  });

  it('a CommonJS file that Node loads as an ES module ("type": "module" above it) says how to fix it', async () => {
    await write('package.json', '{ "type": "module" }\n', 'esm-package-cjs');
    const f = await write('20240101000015-cjs-in-esm.js', 'module.exports = { async up() {} };\n', 'esm-package-cjs');
    const e = await caught(loadMongoMigration(f));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toContain('20240101000015-cjs-in-esm.js:1 is CommonJS');
    expect(e.message).toContain('"type": "module"');
    expect(e.hint).toContain('.cjs');
  });

  it('a file that throws while loading, or imports a missing package, says so with the file', async () => {
    const f = await write('20240101000011-throws.js', `const x = 1;\nthrow new Error('config missing');\n`);
    const e = await caught(loadMongoMigration(f));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toBe('20240101000011-throws.js:2 threw while loading: config missing. Nothing was applied.');

    const g = await write('20240101000012-missing.js', `const lib = require('no-such-package-fd');\nmodule.exports = { async up() {} };\n`);
    const e2 = await caught(loadMongoMigration(g));
    expect(e2.code).toBe('MIGRATION_SET_INVALID');
    expect(e2.message).toContain('"no-such-package-fd"');
  });
});

describe('calling migration functions', () => {
  it('reads parameter names from every function form', () => {
    expect(parameterNames(async function up(db: unknown, next: unknown) {} as MigrationFunction)).toEqual(['db', 'next']);
    expect(parameterNames(((db: unknown) => db) as MigrationFunction)).toEqual(['db']);
    // eslint-disable-next-line
    expect(parameterNames(new Function('db', 'client', 'done', 'return 1') as MigrationFunction)).toEqual(['db', 'client', 'done']);
    expect(parameterNames({ async up(/* the db */ db: unknown, { session }: { session: unknown } = { session: 1 }) {} }.up as MigrationFunction)).toEqual(['db', '']);
  });

  it('callback style up(db, next): done when it calls back, and its error is the failure', async () => {
    const f = await write(
      '20240101000013-callback.js',
      `module.exports = {
  up(db, next) {
    setTimeout(() => { db.calls.push('up ran'); next(); }, 20);
  },
  down(db, client, done) {
    setTimeout(() => done(new Error('down failed via callback')), 5);
  },
};
`,
    );
    const m = await loadMongoMigration(f);
    expect(takesCallback(m.up!)).toBe(true);
    expect(takesCallback(m.down!)).toBe(true);
    const db = { calls: [] as string[] };
    await invokeMigration(m.up!, db, fakeClient);
    expect(db.calls).toEqual(['up ran']);
    await expect(invokeMigration(m.down!, db, fakeClient)).rejects.toThrow('down failed via callback');
  });

  it('an async function that also takes a callback is done when its promise settles', async () => {
    let called = false;
    const fn = async (_db: unknown, next: () => void) => {
      await new Promise((r) => setTimeout(r, 5));
      called = true;
      next();
    };
    await invokeMigration(fn as MigrationFunction, {}, fakeClient);
    expect(called).toBe(true);
  });

  it('a plain (db, client) function is not mistaken for callback style', async () => {
    const seen: unknown[] = [];
    const fn = (db: unknown, client: unknown) => void seen.push(db, client);
    expect(takesCallback(fn as MigrationFunction)).toBe(false);
    await invokeMigration(fn as MigrationFunction, 'db', 'client');
    expect(seen).toEqual(['db', 'client']);
  });

  it('an error thrown inside a migration names the line of the file it came from', async () => {
    const f = await write(
      '20240101000014-throws-in-up.js',
      `module.exports = {
  async up(db) {
    await db.collection('users').createIndex({ email: 1 });
    await db.collection('users').renameTo();
  },
};
`,
    );
    const m = await loadMongoMigration(f);
    const db = fakeDb();
    const err = await invokeMigration(m.up!, db, fakeClient).then(
      () => null,
      (e: unknown) => e,
    );
    const info = describeMigrationError(err, f.absPath);
    expect(info.code).toBe('TypeError');
    expect(info.message).toMatch(/^TypeError: .*renameTo is not a function/);
    expect(info.at).toMatchObject({ line: 4 });
    expect(info.connection).toBe(false);
  });

  it('describes a server error with its codeName and errInfo', () => {
    const e = Object.assign(new Error('Document failed validation'), { name: 'MongoServerError', code: 121, codeName: 'DocumentValidationFailure', errInfo: { failingDocumentId: 1, details: { operatorName: '$jsonSchema' } } });
    const info = describeMigrationError(e, '/nowhere/1-x.js');
    expect(info.code).toBe('DocumentValidationFailure');
    expect(info.message).toBe('MongoServerError: Document failed validation (code 121 DocumentValidationFailure); errInfo {"failingDocumentId":1,"details":{"operatorName":"$jsonSchema"}}');
    expect(info.at).toBeNull();
    expect(describeMigrationError(Object.assign(new Error('connection reset'), { name: 'MongoNetworkError' }), '/x').connection).toBe(true);
    // A write error inside an insert's response carries the number only.
    const w = describeMigrationError(Object.assign(new Error('Document failed validation'), { name: 'MongoServerError', code: 121 }), '/x');
    expect(w).toMatchObject({ code: 'DocumentValidationFailure', message: 'MongoServerError: Document failed validation (code 121 DocumentValidationFailure)' });
    expect(describeMigrationError(Object.assign(new Error('odd'), { name: 'MongoServerError', code: 99999 }), '/x').code).toBe('MongoServerError 99999');
  });
});

// Vitest loads ES modules through its own module runner; the CLI and the app load them with Node's.
// The loader is bundled here as build-main.mjs bundles the CLI (ESM, a createRequire banner) and run
// by plain Node on the same kinds of files.
describe('loading under plain Node, bundled as the CLI is', () => {
  it('loads every module style and reports syntax errors with file and line', { timeout: 30_000 }, async () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    const out = path.join(dir, 'bundle');
    await build({
      absWorkingDir: root,
      entryPoints: ['main/migrations/mongo-migration-file.ts'],
      outfile: path.join(out, 'loader.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
      banner: { js: "import { createRequire as __flightdeckCreateRequire } from 'node:module';\nconst require = __flightdeckCreateRequire(import.meta.url);" },
    });
    await fs.writeFile(path.join(out, 'package.json'), '{ "type": "module" }\n');
    const files = {
      cjs: await write('20240201000000-cjs.js', 'module.exports = { async up(db) { db.calls.push("cjs up"); }, async down() {} };\n', 'native'),
      cjsExt: await write('20240201000001-ext.cjs', 'exports.up = async (db) => { db.calls.push("cjs ext up"); };\n', 'native'),
      named: await write('20240201000002-named.mjs', 'export const up = async (db, client) => { db.calls.push(`named up ${client}`); };\nexport const down = async () => {};\n', 'native'),
      dflt: await write('20240201000003-default.mjs', 'export default { async up(db) { db.calls.push("default up"); } };\n', 'native'),
      callback: await write('20240201000004-callback.js', 'module.exports = { up(db, next) { setTimeout(() => { db.calls.push("callback up"); next(); }, 5); } };\n', 'native'),
      esmSyntax: await write('20240201000005-broken.mjs', 'export const up = async (db) => {\n  const a = 1;\n  await db.collection("x").insertOne({ a: });\n};\n', 'native'),
      cjsSyntax: await write('20240201000006-broken.js', 'module.exports = {\n  async up(db) {\n    await db.x(\n  },\n};\n', 'native'),
    };
    const driver = path.join(out, 'driver.js');
    await fs.writeFile(
      driver,
      `import { loadMongoMigration, invokeMigration } from './loader.js';
const files = ${JSON.stringify(files)};
const result = {};
for (const [k, f] of Object.entries(files)) {
  try {
    const m = await loadMongoMigration(f);
    const db = { calls: [] };
    await invokeMigration(m.up, db, 'client');
    result[k] = { calls: db.calls, down: typeof m.down };
  } catch (e) {
    result[k] = { code: e.code, message: e.message, details: e.details };
  }
}
process.stdout.write(JSON.stringify(result));
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [driver], { cwd: out });
    const r = JSON.parse(stdout) as Record<string, { calls?: string[]; down?: string; code?: string; message?: string; details?: { line?: number } }>;
    expect(r.cjs).toEqual({ calls: ['cjs up'], down: 'function' });
    expect(r.cjsExt).toEqual({ calls: ['cjs ext up'], down: 'undefined' });
    expect(r.named).toEqual({ calls: ['named up client'], down: 'function' });
    expect(r.dflt).toEqual({ calls: ['default up'], down: 'undefined' });
    expect(r.callback).toEqual({ calls: ['callback up'], down: 'undefined' });
    expect(r.esmSyntax).toMatchObject({ code: 'MIGRATION_SYNTAX', details: { line: 3 } });
    expect(r.esmSyntax!.message).toMatch(/^20240201000005-broken\.mjs:3:\d+: Unexpected token '}' \(await db\.collection\("x"\)\.insertOne\(\{ a: \}\);\)/);
    expect(r.cjsSyntax).toMatchObject({ code: 'MIGRATION_SYNTAX', details: { line: 4 } });
    expect(r.cjsSyntax!.message).toMatch(/^20240201000006-broken\.js:4:3: Unexpected token '}'/);
  });
});

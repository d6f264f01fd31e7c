// Loading and calling one migrate-mongo migration file. A file is JavaScript that exports up and
// down as functions of (db, client): CommonJS (`module.exports = { up, down }`), ESM named exports
// (`export const up = …`) or an ESM default export (`export default { up, down }`). Old files take a
// callback instead of returning a promise (`up(db, next)`), as migrate-mongo once allowed.
//
// Loading runs the file's top-level code, which in a migration only defines functions. A syntax
// error is reported with the file and line (ESM syntax errors carry no position in Node 20, so the
// file is then checked with `node --check`, which says where).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlightdeckError } from '../../shared/errors';
import { normalisedChecksum, type MigrationFile } from './migration-set';

export type MigrationFunction = (...args: unknown[]) => unknown;

export interface LoadedMongoMigration {
  /** Path relative to the set's folder. */
  file: string;
  absPath: string;
  up?: MigrationFunction;
  down?: MigrationFunction;
  /** The text as loaded, normalised as the set's checksums are (BOM, line endings). */
  checksum: string;
  /** sha256 of the bytes on disk, as migrate-mongo's useFileHash stores it. */
  fileHash: string;
  text: string;
}

/** Where in a file something happened (1-based). */
export interface FilePosition {
  line: number;
  column?: number;
}

/** migrate-mongo's has-callback: a last parameter with one of these names is a callback. */
const callbackNames = new Set(['callback', 'callback_', 'cb', 'cb_', 'next', 'next_', 'done', 'done_']);

const requireFromHere = createRequire(import.meta.url);

function isFunction(v: unknown): v is MigrationFunction {
  return typeof v === 'function';
}

function hasMigrationFunctions(v: unknown): v is { up?: unknown; down?: unknown } {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && (isFunction((v as { up?: unknown }).up) || isFunction((v as { down?: unknown }).down));
}

/** The object holding up/down: the module itself, or its default export (ESM `export default`, or
 * CommonJS compiled from TypeScript with `exports.default = …`). */
function migrationObject(mod: unknown): { up?: unknown; down?: unknown } | null {
  if (hasMigrationFunctions(mod)) return mod;
  const d = (mod as { default?: unknown } | null)?.default;
  if (hasMigrationFunctions(d)) return d;
  // CommonJS loaded through import(): module.exports is the default, and may itself hold a default.
  const dd = (d as { default?: unknown } | null | undefined)?.default;
  if (hasMigrationFunctions(dd)) return dd;
  return null;
}

/**
 * Reads and loads one migration file. The checksum is of the text actually loaded, so the runner can
 * refuse a file edited between reading the set and running it.
 */
export async function loadMongoMigration(file: Pick<MigrationFile, 'file' | 'absPath'>): Promise<LoadedMongoMigration> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file.absPath);
  } catch (e) {
    throw new FlightdeckError('MIGRATION_SET_INVALID', `Cannot read ${file.absPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, 'Give the user running Flightdeck read permission on every file in the folder.');
  }
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  const fileHash = createHash('sha256').update(buf).digest('hex');
  // The same path with other content must load afresh (the cockpit is a long-lived process): the
  // CommonJS cache entry is dropped, and an ES module gets a URL of its own per content.
  const url = `${pathToFileURL(file.absPath).href}?flightdeck=${fileHash.slice(0, 16)}`;
  let mod: unknown;
  try {
    if (path.extname(file.absPath).toLowerCase() === '.mjs') {
      mod = await import(url);
    } else {
      const resolved = requireFromHere.resolve(file.absPath);
      delete requireFromHere.cache[resolved];
      try {
        mod = requireFromHere(resolved);
      } catch (e) {
        // A .js file in a "type": "module" package, or an ES module with top-level await.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
        mod = await import(url);
      }
    }
  } catch (e) {
    throw await loadError(e, file, text);
  }
  const obj = migrationObject(mod);
  if (!obj) {
    throw new FlightdeckError(
      'MIGRATION_SET_INVALID',
      `${file.file} exports no up or down function.`,
      'Export them as migrate-mongo does: module.exports = { async up(db, client) {…}, async down(db, client) {…} }, or export const up = … / export default { up, down } in an ES module.',
      { file: file.file },
    );
  }
  return {
    file: file.file,
    absPath: file.absPath,
    ...(isFunction(obj.up) ? { up: obj.up } : {}),
    ...(isFunction(obj.down) ? { down: obj.down } : {}),
    checksum: normalisedChecksum(text),
    fileHash,
    text,
  };
}

async function loadError(e: unknown, file: Pick<MigrationFile, 'file' | 'absPath'>, text: string): Promise<FlightdeckError> {
  const err = e as NodeJS.ErrnoException & { stack?: string };
  if (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ERR_MODULE_NOT_FOUND') {
    const what = /Cannot find (?:module|package) '([^']+)'/.exec(err.message)?.[1];
    return new FlightdeckError(
      'MIGRATION_SET_INVALID',
      `${file.file} cannot be loaded: it imports ${what ? `"${what}"` : 'a module'}, which is not found from ${path.dirname(file.absPath)}. Nothing was applied.`,
      'A migration resolves its imports from its own folder upwards, as Node does: install the project\'s dependencies (npm install) where the migrations live, or fix the path.',
      { file: file.file },
    );
  }
  const isSyntax = err instanceof SyntaxError || err?.name === 'SyntaxError';
  // A CommonJS syntax error names its line; an ES module's does not (Node 20), nor does an error
  // from a loader that stands in for Node's (a test runner's): Node's own parser then says where.
  const header = isSyntax ? positionInStack(err.stack, file.absPath, true) : null;
  const checked = header ? null : await syntaxCheck(file.absPath);
  if (isSyntax || checked) {
    const at = header ?? checked?.at ?? null;
    const message = header || !checked ? err.message : checked.message;
    const where = at ? `${file.file}:${at.line}${at.column ? `:${at.column}` : ''}` : file.file;
    const source = at ? sourceLine(text, at.line) : '';
    return new FlightdeckError(
      'MIGRATION_SYNTAX',
      `${where}: ${message}${source ? ` (${source})` : ''}. The file cannot be loaded; nothing was applied.`,
      at ? `Fix line ${at.line} of ${file.file}, then run again.` : `Fix ${file.file} (node --check ${file.absPath} shows the problem), then run again.`,
      { file: file.file, ...(at ? { line: at.line } : {}) },
    );
  }
  const at = positionInStack(err?.stack, file.absPath);
  if (/\b(module|exports|require) is not defined in ES module scope/.test(err?.message ?? '')) {
    return new FlightdeckError(
      'MIGRATION_SET_INVALID',
      `${file.file}${at ? `:${at.line}` : ''} is CommonJS (${err.message.replace(/,.*$/s, '')}), but Node loads it as an ES module: the nearest package.json says "type": "module". Nothing was applied.`,
      `Rename the file to .cjs, or write it as an ES module (export const up = …), or give the migrations folder a package.json with { "type": "commonjs" }.`,
      { file: file.file, ...(at ? { line: at.line } : {}) },
    );
  }
  return new FlightdeckError(
    'MIGRATION_SET_INVALID',
    `${file.file}${at ? `:${at.line}` : ''} threw while loading: ${err?.message ?? String(e)}. Nothing was applied.`,
    `A migration file's top-level code should only define up and down; fix ${file.file}${at ? ` at line ${at.line}` : ''}.`,
    { file: file.file, ...(at ? { line: at.line } : {}) },
  );
}

/** `node --check`: Node's own parser, which names the line of an ES module's syntax error. Null
 * when the file parses. */
function syntaxCheck(absPath: string): Promise<{ at: FilePosition | null; message: string } | null> {
  return new Promise((resolve) => {
    // Inside Electron, process.execPath is Electron, which behaves as node with this variable set.
    execFile(process.execPath, ['--check', absPath], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 15_000, windowsHide: true }, (error, _stdout, stderr) => {
      const out = String(stderr);
      const message = /^SyntaxError: (.*)$/m.exec(out)?.[1];
      resolve(error && message ? { at: positionInStack(out, absPath, true), message } : null);
    });
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The first position inside the file that a stack (or `node --check` output) names: a frame
 * `at up (/dir/1-x.js:12:9)`, `file:///dir/1-x.mjs?flightdeck=…:12:9`, or the header Node prints
 * above a syntax error (`/dir/1-x.js:12`, then the line and a caret under the column).
 */
export function positionInStack(stack: string | undefined, absPath: string, header = false): FilePosition | null {
  if (!stack) return null;
  const names = [absPath, pathToFileURL(absPath).href].map(escapeRe).join('|');
  const lines = stack.split('\n');
  if (header) {
    const re = new RegExp(`^(?:${names})(?:\\?[^:\\s]*)?:(\\d+)\\s*$`);
    for (let i = 0; i < lines.length; i++) {
      const m = re.exec(lines[i]!.trim());
      if (!m) continue;
      const caret = lines[i + 2]?.indexOf('^') ?? -1;
      return { line: Number(m[1]), ...(caret >= 0 ? { column: caret + 1 } : {}) };
    }
  }
  const frame = new RegExp(`(?:${names})(?:\\?[^:\\s)]*)?:(\\d+):(\\d+)`);
  for (const l of lines) {
    const m = frame.exec(l);
    if (m) return { line: Number(m[1]), column: Number(m[2]) };
  }
  return null;
}

/** Line `line` of the text, trimmed and shortened, for messages. */
export function sourceLine(text: string, line: number, max = 100): string {
  const l = (text.split(/\r\n?|\n/)[line - 1] ?? '').trim();
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
}

/** The declared parameter names of a function, read from its source. */
export function parameterNames(fn: MigrationFunction): string[] {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return [];
  }
  src = src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ');
  const bare = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (bare) return [bare[1]!];
  const open = src.indexOf('(');
  if (open < 0) return [];
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    }
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => /^(?:\.\.\.)?([A-Za-z_$][\w$]*)/.exec(p)?.[1] ?? '');
}

/** True when the function takes a callback as migrate-mongo recognised one: by its last parameter's name. */
export function takesCallback(fn: MigrationFunction): boolean {
  const names = parameterNames(fn);
  return names.length >= 2 && callbackNames.has(names[names.length - 1]!);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Calls up or down as migrate-mongo does: with (db, client), awaiting what it returns. A function
 * whose last parameter is a callback (`up(db, next)`, `up(db, client, done)`) gets one in that
 * place; it is done when it calls back, or when the promise it returns settles.
 */
export async function invokeMigration(fn: MigrationFunction, db: unknown, client: unknown): Promise<void> {
  // A server error is created deep in the driver; with Node's default of 10 frames its stack may
  // stop before it reaches the migration's own line, which the failure record names.
  if (deepStacks++ === 0) {
    savedStackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = Math.max(savedStackTraceLimit, 50);
  }
  try {
    await callMigration(fn, db, client);
  } finally {
    if (--deepStacks === 0) Error.stackTraceLimit = savedStackTraceLimit;
  }
}

let deepStacks = 0;
let savedStackTraceLimit = Error.stackTraceLimit;

async function callMigration(fn: MigrationFunction, db: unknown, client: unknown): Promise<void> {
  if (!takesCallback(fn)) {
    await fn(db, client);
    return;
  }
  let callbackError: unknown = null;
  let settle!: (err: unknown) => void;
  const called = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  // Never an unhandled rejection: the error is rethrown below, from whichever path finishes.
  called.catch(() => undefined);
  const callback = (err?: unknown) => {
    if (err) callbackError = err;
    settle(err);
  };
  const args = parameterNames(fn).length >= 3 ? [db, client, callback] : [db, callback];
  const returned = fn(...args);
  if (isThenable(returned)) {
    await returned;
    if (callbackError) throw callbackError;
    return;
  }
  await called;
}

export interface MigrationErrorInfo {
  /** The server's codeName (DocumentValidationFailure), the driver error's name, or the JS error's. */
  code: string;
  /** `TypeError: x is not a function`, with the server's errInfo when it gave one. */
  message: string;
  /** The first frame of the stack inside the migration file. */
  at: FilePosition | null;
  /** The connection, not the migration, failed. */
  connection: boolean;
}

/** Names of server error codes that migrations meet, for errors that carry only the number (a
 * write error inside an insert or update response has no codeName). */
const serverCodeNames: Record<number, string> = {
  11000: 'DuplicateKey',
  121: 'DocumentValidationFailure',
  13: 'Unauthorized',
  26: 'NamespaceNotFound',
  27: 'IndexNotFound',
  48: 'NamespaceExists',
  50: 'MaxTimeMSExpired',
  66: 'ImmutableField',
  67: 'CannotCreateIndex',
  85: 'IndexOptionsConflict',
  86: 'IndexKeySpecsConflict',
  112: 'WriteConflict',
};

/** What an error thrown by a migration function says, for the failure record. */
export function describeMigrationError(e: unknown, absPath: string): MigrationErrorInfo {
  if (!(e instanceof Error)) {
    return { code: 'THROWN', message: `a non-error value was thrown: ${safeJson(e, 300)}`, at: null, connection: false };
  }
  const err = e as Error & { code?: unknown; codeName?: string; errInfo?: unknown; errorLabels?: unknown };
  const name = err.name || 'Error';
  const connection = /^Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|NotConnected|PoolClosed)Error$/.test(name);
  const codeName = err.codeName ?? (typeof err.code === 'number' ? serverCodeNames[err.code] : undefined);
  const code = codeName ?? (name.startsWith('Mongo') && err.code !== undefined ? `${name} ${String(err.code)}` : name);
  let message = `${name}: ${err.message}`;
  if (err.code !== undefined && name.startsWith('Mongo')) message += ` (code ${String(err.code)}${codeName ? ` ${codeName}` : ''})`;
  if (err.errInfo !== undefined) message += `; errInfo ${safeJson(err.errInfo, 600)}`;
  return { code, message, at: positionInStack(err.stack, absPath), connection };
}

function safeJson(v: unknown, max: number): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// Reads a folder of migration files: detects its format from the file names, pairs ups with downs,
// sorts versions numerically, and reports every problem with the file (and line) it is in.
// Nothing here touches a database.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FlightdeckError } from '../../shared/errors';
import { formatLabels, type MigrationFormat, type MigrationSetSummary, type SetProblem } from '../../shared/migrations';

export interface MigrationFile {
  /** Path relative to the set's folder, as reports show it. */
  file: string;
  absPath: string;
  text: string;
  checksum: string;
  bytes: number;
}

export interface Migration {
  version: number;
  title: string;
  up?: MigrationFile;
  down?: MigrationFile;
}

export interface MigrationSet {
  dir: string;
  format: MigrationFormat | null;
  migrations: Migration[];
  problems: SetProblem[];
}

interface NamedFile {
  format: MigrationFormat;
  version: number | null;
  /** The version as written, for messages. */
  rawVersion: string;
  title: string;
  direction: 'up' | 'down' | 'repeatable';
}

/** What each format's file names look like; the first match names a file's format. */
const patterns: { format: MigrationFormat; re: RegExp; parse: (m: RegExpExecArray) => Omit<NamedFile, 'format' | 'version'> }[] = [
  { format: 'golang-migrate', re: /^(\d+)_(.+)\.(up|down)\.sql$/i, parse: (m) => ({ rawVersion: m[1]!, title: m[2]!, direction: m[3]!.toLowerCase() as 'up' | 'down' }) },
  { format: 'up-down-suffix', re: /^(\d+)_(.+)_(up|down)\.sql$/i, parse: (m) => ({ rawVersion: m[1]!, title: m[2]!, direction: m[3]!.toLowerCase() as 'up' | 'down' }) },
  {
    format: 'flyway',
    re: /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/,
    parse: (m) => ({ rawVersion: m[2]!, title: m[3]!, direction: m[1] === 'V' ? 'up' : 'down' }),
  },
  { format: 'flyway', re: /^R__(.+)\.sql$/, parse: (m) => ({ rawVersion: '', title: m[1]!, direction: 'repeatable' }) },
  { format: 'migrate-mongo', re: /^(\d+)-(.+)\.(?:js|cjs|mjs)$/, parse: (m) => ({ rawVersion: m[1]!, title: m[2]!, direction: 'up' }) },
];

/** Files a migration folder commonly holds beside migrations; they are not reported. */
const ignored = /^(\.|readme|license|changelog)|\.(md|txt|json|ya?ml|toml|conf|cfg|ini)$/i;

/** Which engines a format's files can hold. */
export function enginesOf(format: MigrationFormat | null): MigrationSetSummary['engines'] {
  if (format === 'migrate-mongo') return ['mongodb'];
  if (format === null) return [];
  return ['postgres', 'mysql'];
}

/** sha256 of the text with a BOM removed and line endings normalised, so a checkout on Windows
 * (CRLF) has the same checksum as one on Linux. */
export function normalisedChecksum(text: string): string {
  const normal = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  return createHash('sha256').update(normal, 'utf8').digest('hex');
}

/** The 1-based line of the first byte sequence that is not UTF-8, or null when all of it is. */
function firstNonUtf8Line(buf: Buffer): number | null {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0x0a) {
      try {
        decoder.decode(buf.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return null;
}

function setError(message: string, hint: string): FlightdeckError {
  return new FlightdeckError('MIGRATION_SET_INVALID', message, hint);
}

/** Reads and checks a folder. Throws only when the folder itself cannot be read; everything else
 * is a problem in the result, so a UI can show them all at once. */
export async function readMigrationSet(dir: string): Promise<MigrationSet> {
  const abs = path.resolve(dir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw setError(`The migrations folder ${abs} does not exist.`, 'Check the path given with --migrations (or in the window settings).');
    if (code === 'ENOTDIR') throw setError(`${abs} is a file, not a folder of migrations.`, 'Give the folder that holds the migration files.');
    if (code === 'EACCES' || code === 'EPERM') throw setError(`Flightdeck may not read the migrations folder ${abs} (${code}).`, 'Give the user running Flightdeck read permission on the folder (chmod u+rx).');
    throw setError(`Cannot read the migrations folder ${abs}: ${(e as Error).message}.`, 'Check the path and its permissions.');
  }

  const problems: SetProblem[] = [];
  const named: { name: string; info: NamedFile }[] = [];
  // A symlinked migration is still a migration: skipping it would leave it unapplied without a word.
  for (const entry of entries.filter((e) => e.isFile() || e.isSymbolicLink()).sort((a, b) => a.name.localeCompare(b.name))) {
    const name = entry.name;
    const match = patterns.map((p) => ({ p, m: p.re.exec(name) })).find((x) => x.m);
    if (!match) {
      if (!ignored.test(name) && /\.(sql|js|cjs|mjs)$/i.test(name)) {
        problems.push({ severity: 'warning', code: 'UNRECOGNISED_FILE', file: name, message: `${name} does not follow the set's naming, so it is not a migration and will not run.`, hint: 'Rename it to the set\'s pattern (for example 0042_add_index.up.sql) or move it out of the folder.' });
      }
      continue;
    }
    const parsed = match.p.parse(match.m!);
    let version: number | null = null;
    if (parsed.direction !== 'repeatable') {
      if (/[._]/.test(parsed.rawVersion)) {
        problems.push({ severity: 'error', code: 'BAD_VERSION', file: name, message: `${name} has the dotted version ${parsed.rawVersion.replace(/_/g, '.')}; schema_migrations keeps versions as integers (bigint), as golang-migrate does.`, hint: 'Renumber the set with integer versions (V11__… instead of V1_1__…).' });
        continue;
      }
      version = Number(parsed.rawVersion);
      if (!Number.isSafeInteger(version)) {
        problems.push({ severity: 'error', code: 'BAD_VERSION', file: name, message: `${name} has the version ${parsed.rawVersion}, larger than Flightdeck can order exactly (2^53).`, hint: 'Use versions of at most 15 digits (a yyyymmddhhmmss timestamp is 14).' });
        continue;
      }
    }
    named.push({ name, info: { format: match.p.format, version, ...parsed } });
  }

  const formats = [...new Set(named.map((n) => n.info.format))];
  if (formats.length > 1) {
    const examples = formats.map((f) => `${named.find((n) => n.info.format === f)!.name} (${formatLabels[f]})`).join(', ');
    problems.push({ severity: 'error', code: 'MIXED_FORMATS', message: `The folder mixes ${formats.length} migration formats: ${examples}.`, hint: 'Keep one format per folder; move the other files to a folder of their own.' });
  }
  const format = formats.length === 1 ? formats[0]! : formats.length === 0 ? null : mostCommon(named.map((n) => n.info.format));

  const byVersion = new Map<number, Migration>();
  // Files are read 16 at a time (one after another, 2,000 files took 0.3 s in bench:migrate);
  // problems are still reported in file-name order.
  const wanted = named.filter(({ info }) => info.format === format && info.direction !== 'repeatable');
  const contents = new Map<string, Promise<{ file: MigrationFile | null; problems: SetProblem[] }>>();
  const queue = [...wanted];
  const workers = Array.from({ length: Math.min(16, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const own: SetProblem[] = [];
      const read = readMigrationFile(abs, next.name, own).then((file) => ({ file, problems: own }));
      contents.set(next.name, read);
      await read.catch(() => undefined);
    }
  });
  await Promise.all(workers);
  for (const { name, info } of named) {
    if (info.format !== format) continue;
    if (info.direction === 'repeatable') {
      problems.push({ severity: 'warning', code: 'NOT_RUN', file: name, message: `${name} is a Flyway repeatable migration; Flightdeck's runner does not run repeatable migrations.`, hint: 'Run it with Flyway, or turn it into a versioned V…__ file.' });
      continue;
    }
    const read = await contents.get(name)!;
    problems.push(...read.problems);
    const file = read.file;
    if (!file) continue;
    const version = info.version!;
    const m = byVersion.get(version) ?? { version, title: info.title };
    const side = info.direction as 'up' | 'down';
    const existing = m[side];
    if (existing) {
      problems.push({ severity: 'error', code: 'DUPLICATE_VERSION', file: name, message: `Version ${version} has two ${side} files: ${existing.file} and ${name}.`, hint: 'Give one of them the next free version number.' });
      continue;
    }
    m[side] = file;
    if (side === 'up') m.title = info.title;
    byVersion.set(version, m);
  }

  const migrations = [...byVersion.values()].sort((a, b) => a.version - b.version);
  for (const m of migrations) {
    if (!m.up) problems.push({ severity: 'error', code: 'MISSING_UP', file: m.down!.file, message: `${m.down!.file} has no up migration for version ${m.version}.`, hint: 'Add the up file, or delete the stray down file.' });
    else if (!m.down && format !== 'migrate-mongo') problems.push({ severity: 'warning', code: 'MISSING_DOWN', file: m.up.file, message: `Version ${m.version} (${m.up.file}) has no down migration: it cannot be rolled back.`, hint: `Write the rollback as ${downNameFor(format, m.up.file)}.` });
  }
  if (format !== 'migrate-mongo') {
    for (let i = 1; i < migrations.length; i++) {
      const prev = migrations[i - 1]!.version;
      const cur = migrations[i]!.version;
      // Timestamps as versions have gaps by design; only sequential numbering is checked.
      if (cur - prev > 1 && cur < 1_000_000) {
        problems.push({ severity: 'warning', code: 'VERSION_GAP', file: migrations[i]!.up?.file ?? migrations[i]!.down?.file, message: `Versions jump from ${prev} to ${cur}; ${cur - prev - 1 === 1 ? `version ${prev + 1} is` : `versions ${prev + 1}–${cur - 1} are`} missing.`, hint: 'Check that no migration file was lost in a merge; gaps themselves are allowed.' });
      }
    }
  }
  return { dir: abs, format, migrations, problems };
}

function mostCommon<T>(values: T[]): T {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

function downNameFor(format: MigrationFormat | null, upFile: string): string {
  if (format === 'golang-migrate') return upFile.replace(/\.up\.sql$/i, '.down.sql');
  if (format === 'up-down-suffix') return upFile.replace(/_up\.sql$/i, '_down.sql');
  if (format === 'flyway') return upFile.replace(/^V/, 'U');
  return 'a down file';
}

async function readMigrationFile(dir: string, name: string, problems: SetProblem[]): Promise<MigrationFile | null> {
  const absPath = path.join(dir, name);
  let buf: Buffer;
  try {
    buf = await fs.readFile(absPath);
  } catch (e) {
    throw setError(`Cannot read ${absPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, 'Give the user running Flightdeck read permission on every file in the folder.');
  }
  const badLine = firstNonUtf8Line(buf);
  if (badLine !== null) {
    problems.push({ severity: 'error', code: 'NOT_UTF8', file: name, line: badLine, message: `${name} is not UTF-8: line ${badLine} holds bytes that are not valid UTF-8.`, hint: 'Convert the file to UTF-8 (for example iconv -f latin1 -t utf-8) and check the text on that line.' });
    return null;
  }
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  if (isBlank(text)) {
    problems.push({ severity: 'error', code: 'EMPTY_FILE', file: name, message: `${name} is empty${text.length ? ' (only comments or whitespace)' : ''}.`, hint: 'Write the migration\'s statements, or delete the file if the version is not needed.' });
    return null;
  }
  return { file: name, absPath, text, checksum: normalisedChecksum(text), bytes: buf.length };
}

/** True when the text holds nothing but whitespace and SQL or JavaScript comments. */
function isBlank(text: string): boolean {
  // One pass, so whichever comment opens first wins: "-- see /*" must not swallow the statements
  // up to a later "*/".
  return text.replace(/\/\*[\s\S]*?\*\/|(--|\/\/|#)[^\n]*/g, '').trim() === '';
}

export function summarise(set: MigrationSet): MigrationSetSummary {
  const info = (f?: MigrationFile) => (f ? { file: f.file, checksum: f.checksum, bytes: f.bytes } : undefined);
  return {
    dir: set.dir,
    format: set.format,
    formatLabel: set.format ? formatLabels[set.format] : 'no migration files found',
    engines: enginesOf(set.format),
    migrations: set.migrations.map((m) => ({ version: m.version, title: m.title, ...(m.up ? { up: info(m.up) } : {}), ...(m.down ? { down: info(m.down) } : {}) })),
    problems: set.problems,
  };
}

/** Refuses a set whose errors would make a run wrong: the message lists every one. */
export function assertRunnable(set: MigrationSet): void {
  const errors = set.problems.filter((p) => p.severity === 'error');
  if (errors.length === 0 && set.migrations.length > 0) return;
  if (errors.length === 0) {
    throw setError(`No migration files in ${set.dir}.`, 'Point --migrations at the folder that holds files like 0001_create_users.up.sql or V1__create_users.sql.');
  }
  const list = errors.map((p) => `  ${p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : ''}${p.message}`).join('\n');
  throw new FlightdeckError('MIGRATION_SET_INVALID', `The migration set in ${set.dir} has ${errors.length} error${errors.length > 1 ? 's' : ''}; nothing was applied:\n${list}`, errors[0]!.hint, { problems: errors });
}

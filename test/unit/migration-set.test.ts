// Reading a folder of migrations: format detection, numeric ordering, and a clear problem (file,
// and line where it applies) for every kind of bad input. Each test works on a real temporary folder.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertRunnable, normalisedChecksum, readMigrationSet, summarise, type MigrationSet } from '../../main/migrations/migration-set';
import { FlightdeckError } from '../../shared/errors';

const made: string[] = [];

afterEach(async () => {
  for (const dir of made.splice(0)) {
    await fs.chmod(dir, 0o700).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-migration-set-'));
  made.push(dir);
  return dir;
}

/** A temporary folder holding the given files. */
async function folder(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await tempDir();
  for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(dir, name), content);
  return dir;
}

const sql = (n: number) => `CREATE TABLE t${n} (id int);\n`;
/** Problems reduced to what identifies them. */
const problems = (set: MigrationSet) => set.problems.map((p) => [p.severity, p.code, p.file ?? null, p.line ?? null]);
const versions = (set: MigrationSet) => set.migrations.map((m) => [m.version, m.title, m.up?.file ?? null, m.down?.file ?? null]);

async function rejection(p: Promise<unknown>): Promise<FlightdeckError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected a FlightdeckError');
}

function thrown(fn: () => unknown): FlightdeckError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected a FlightdeckError');
}

describe('readMigrationSet: formats', () => {
  it('detects golang-migrate (1_x.up.sql / 1_x.down.sql) and pairs ups with downs', async () => {
    const dir = await folder({ '1_create_users.up.sql': sql(1), '1_create_users.down.sql': 'DROP TABLE t1;\n', '2_add_email.up.sql': sql(2), '2_add_email.down.sql': 'DROP TABLE t2;' });
    const set = await readMigrationSet(dir);
    expect(set.dir).toBe(path.resolve(dir));
    expect(set.format).toBe('golang-migrate');
    expect(summarise(set).formatLabel).toBe('golang-migrate ({version}_{title}.up.sql / .down.sql)');
    expect(summarise(set).engines).toEqual(['postgres', 'mysql']);
    expect(versions(set)).toEqual([
      [1, 'create_users', '1_create_users.up.sql', '1_create_users.down.sql'],
      [2, 'add_email', '2_add_email.up.sql', '2_add_email.down.sql'],
    ]);
    expect(set.problems).toEqual([]);
    const up = set.migrations[0]!.up!;
    expect(up).toEqual({ file: '1_create_users.up.sql', absPath: path.join(path.resolve(dir), '1_create_users.up.sql'), text: sql(1), checksum: normalisedChecksum(sql(1)), bytes: Buffer.byteLength(sql(1)) });
  });

  it('detects the _up.sql / _down.sql suffix format', async () => {
    const set = await readMigrationSet(await folder({ '1_init_up.sql': sql(1), '1_init_down.sql': 'DROP TABLE t1;', '2_more_up.sql': sql(2), '2_more_down.sql': 'DROP TABLE t2;' }));
    expect(set.format).toBe('up-down-suffix');
    expect(summarise(set).formatLabel).toBe('{version}_{title}_up.sql / _down.sql');
    expect(versions(set)).toEqual([
      [1, 'init', '1_init_up.sql', '1_init_down.sql'],
      [2, 'more', '2_more_up.sql', '2_more_down.sql'],
    ]);
    expect(set.problems).toEqual([]);
  });

  it('detects Flyway (V1__x.sql with undo U1__x.sql)', async () => {
    const set = await readMigrationSet(await folder({ 'V1__create_users.sql': sql(1), 'U1__create_users.sql': 'DROP TABLE t1;', 'V2__add_email.sql': sql(2), 'U2__add_email.sql': 'DROP TABLE t2;' }));
    expect(set.format).toBe('flyway');
    expect(summarise(set).formatLabel).toBe('Flyway (V{version}__{description}.sql, undo U{version}__…)');
    expect(versions(set)).toEqual([
      [1, 'create_users', 'V1__create_users.sql', 'U1__create_users.sql'],
      [2, 'add_email', 'V2__add_email.sql', 'U2__add_email.sql'],
    ]);
    expect(set.problems).toEqual([]);
  });

  it('detects migrate-mongo (timestamp-name.js), which has no down files and timestamp gaps by design', async () => {
    const js = 'module.exports = { async up(db) { await db.collection("a").createIndex({ a: 1 }); } };\n';
    const set = await readMigrationSet(await folder({ '20240101120000-add-index.js': js, '20240315093000-backfill.js': js }));
    expect(set.format).toBe('migrate-mongo');
    expect(summarise(set).formatLabel).toBe('migrate-mongo ({timestamp}-{name}.js)');
    expect(summarise(set).engines).toEqual(['mongodb']);
    expect(versions(set)).toEqual([
      [20240101120000, 'add-index', '20240101120000-add-index.js', null],
      [20240315093000, 'backfill', '20240315093000-backfill.js', null],
    ]);
    expect(set.problems).toEqual([]);
  });

  it('sorts versions numerically (2 before 10) and reads leading zeros as the same number', async () => {
    const files: Record<string, string> = {};
    for (let v = 1; v <= 11; v++) {
      files[`${String(v).padStart(v % 2 ? 1 : 3, '0')}_m${v}.up.sql`] = sql(v);
      files[`${String(v).padStart(v % 2 ? 1 : 3, '0')}_m${v}.down.sql`] = `DROP TABLE t${v};`;
    }
    const set = await readMigrationSet(await folder(files));
    expect(set.migrations.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(set.migrations[1]!.up!.file).toBe('002_m2.up.sql');
    expect(set.problems).toEqual([]);
  });

  it('ignores READMEs, notes, config files, dotfiles and subfolders silently', async () => {
    const dir = await folder({ '1_a.up.sql': sql(1), '1_a.down.sql': 'DROP TABLE t1;', 'README.md': '# docs', 'notes.txt': 'x', 'config.json': '{}', '.gitkeep': '' });
    await fs.mkdir(path.join(dir, '2_sub.up.sql'));
    const set = await readMigrationSet(dir);
    expect(versions(set)).toEqual([[1, 'a', '1_a.up.sql', '1_a.down.sql']]);
    expect(set.problems).toEqual([]);
  });

  it('reads a migration file that is a symbolic link', async () => {
    const dir = await folder({ '1_a.up.sql': sql(1), '1_a.down.sql': 'DROP TABLE t1;' });
    const elsewhere = await folder({ 'shared.sql': sql(2) });
    await fs.symlink(path.join(elsewhere, 'shared.sql'), path.join(dir, '2_b.up.sql'));
    const set = await readMigrationSet(dir);
    expect(versions(set)).toEqual([
      [1, 'a', '1_a.up.sql', '1_a.down.sql'],
      [2, 'b', '2_b.up.sql', null],
    ]);
    expect(set.migrations[1]!.up!.text).toBe(sql(2));
    expect(problems(set)).toEqual([['warning', 'MISSING_DOWN', '2_b.up.sql', null]]);
  });
});

describe('readMigrationSet: a folder that cannot be read', () => {
  it('says the folder does not exist', async () => {
    const missing = path.join(await tempDir(), 'nope');
    const e = await rejection(readMigrationSet(missing));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toBe(`The migrations folder ${missing} does not exist.`);
  });

  it('says a path that is a file is not a folder', async () => {
    const file = path.join(await folder({ '1_a.up.sql': sql(1) }), '1_a.up.sql');
    const e = await rejection(readMigrationSet(file));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toBe(`${file} is a file, not a folder of migrations.`);
  });

  it.skipIf(process.getuid?.() === 0)('says the folder may not be read (skipped as root: chmod 000 does not stop root from reading)', async () => {
    const dir = await folder({ '1_a.up.sql': sql(1) });
    await fs.chmod(dir, 0o000);
    const e = await rejection(readMigrationSet(dir));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toBe(`Flightdeck may not read the migrations folder ${dir} (EACCES).`);
    expect(e.hint).toBe('Give the user running Flightdeck read permission on the folder (chmod u+rx).');
  });
});

describe('readMigrationSet: problems', () => {
  it('reports mixed formats as one error naming an example file of each, and keeps the most common format', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': sql(1), '1_a.down.sql': 'DROP TABLE t1;', 'V2__b.sql': sql(2) }));
    expect(set.format).toBe('golang-migrate');
    expect(versions(set)).toEqual([[1, 'a', '1_a.up.sql', '1_a.down.sql']]);
    expect(problems(set)).toEqual([['error', 'MIXED_FORMATS', null, null]]);
    expect(set.problems[0]!.message).toBe(
      'The folder mixes 2 migration formats: 1_a.down.sql (golang-migrate ({version}_{title}.up.sql / .down.sql)), V2__b.sql (Flyway (V{version}__{description}.sql, undo U{version}__…)).',
    );
  });

  it('reports two files of the same version and direction (1_a and 01_b)', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': sql(1), '01_b.up.sql': sql(2) }));
    expect(problems(set)).toEqual([
      ['error', 'DUPLICATE_VERSION', '1_a.up.sql', null],
      ['warning', 'MISSING_DOWN', '01_b.up.sql', null],
    ]);
    expect(set.problems[0]!.message).toBe('Version 1 has two up files: 01_b.up.sql and 1_a.up.sql.');
  });

  it('reports a file that is not UTF-8 with the line of the bad bytes', async () => {
    const latin1 = Buffer.concat([Buffer.from("CREATE TABLE t (name text);\n-- café below\nINSERT INTO t VALUES ('caf"), Buffer.from([0xe9]), Buffer.from("');\n")]);
    const set = await readMigrationSet(await folder({ '1_a.up.sql': latin1, '1_a.down.sql': 'DROP TABLE t;' }));
    expect(problems(set)).toEqual([
      ['error', 'NOT_UTF8', '1_a.up.sql', 3],
      ['error', 'MISSING_UP', '1_a.down.sql', null],
    ]);
    expect(set.problems[0]!.message).toBe('1_a.up.sql is not UTF-8: line 3 holds bytes that are not valid UTF-8.');
  });

  it('reports an empty file and a file of only comments', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': '', '2_b.up.sql': '-- nothing yet\n/* still\n nothing */\n\n' }));
    expect(set.migrations).toEqual([]);
    expect(problems(set)).toEqual([
      ['error', 'EMPTY_FILE', '1_a.up.sql', null],
      ['error', 'EMPTY_FILE', '2_b.up.sql', null],
    ]);
    expect(set.problems.map((p) => p.message)).toEqual(['1_a.up.sql is empty.', '2_b.up.sql is empty (only comments or whitespace).']);
  });

  it('does not take a statement between comment markers for a comment', async () => {
    const text = '-- see /* the note below\nCREATE TABLE t (id int);\n-- end of note */\n';
    const set = await readMigrationSet(await folder({ '1_a.up.sql': text, '1_a.down.sql': 'DROP TABLE t;' }));
    expect(set.problems).toEqual([]);
    expect(set.migrations[0]!.up!.text).toBe(text);
  });

  it('reports a down without an up as an error, and an up without a down as a warning', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': sql(1), '2_b.down.sql': 'DROP TABLE t2;' }));
    expect(problems(set)).toEqual([
      ['warning', 'MISSING_DOWN', '1_a.up.sql', null],
      ['error', 'MISSING_UP', '2_b.down.sql', null],
    ]);
    expect(set.problems[0]!.message).toBe('Version 1 (1_a.up.sql) has no down migration: it cannot be rolled back.');
    expect(set.problems[0]!.hint).toBe('Write the rollback as 1_a.down.sql.');
    expect(set.problems[1]!.message).toBe('2_b.down.sql has no up migration for version 2.');
  });

  it('names the undo file a Flyway migration lacks', async () => {
    const set = await readMigrationSet(await folder({ 'V1__init.sql': sql(1) }));
    expect(problems(set)).toEqual([['warning', 'MISSING_DOWN', 'V1__init.sql', null]]);
    expect(set.problems[0]!.hint).toBe('Write the rollback as U1__init.sql.');
  });

  it('warns about gaps in sequential versions, but not in timestamps', async () => {
    const both = (v: number) => ({ [`${v}_m.up.sql`]: sql(v), [`${v}_m.down.sql`]: 'SELECT 1;' });
    const set = await readMigrationSet(await folder({ ...both(1), ...both(2), ...both(5), ...both(7) }));
    expect(problems(set)).toEqual([
      ['warning', 'VERSION_GAP', '5_m.up.sql', null],
      ['warning', 'VERSION_GAP', '7_m.up.sql', null],
    ]);
    expect(set.problems.map((p) => p.message)).toEqual(['Versions jump from 2 to 5; versions 3–4 are missing.', 'Versions jump from 5 to 7; version 6 is missing.']);
    const stamps = await readMigrationSet(await folder({ ...both(20240101000000), ...both(20240301000000) }));
    expect(stamps.problems).toEqual([]);
  });

  it('warns about a .sql file that does not follow the naming', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': sql(1), '1_a.down.sql': 'DROP TABLE t1;', 'fix-prod.sql': 'UPDATE t SET a = 1;' }));
    expect(versions(set)).toEqual([[1, 'a', '1_a.up.sql', '1_a.down.sql']]);
    expect(problems(set)).toEqual([['warning', 'UNRECOGNISED_FILE', 'fix-prod.sql', null]]);
    expect(set.problems[0]!.message).toBe('fix-prod.sql does not follow the set\'s naming, so it is not a migration and will not run.');
  });

  it('refuses a dotted Flyway version (V1_1__)', async () => {
    const set = await readMigrationSet(await folder({ 'V1__a.sql': sql(1), 'U1__a.sql': 'DROP TABLE t1;', 'V1_1__b.sql': sql(2) }));
    expect(versions(set)).toEqual([[1, 'a', 'V1__a.sql', 'U1__a.sql']]);
    expect(problems(set)).toEqual([['error', 'BAD_VERSION', 'V1_1__b.sql', null]]);
    expect(set.problems[0]!.message).toBe('V1_1__b.sql has the dotted version 1.1; schema_migrations keeps versions as integers (bigint), as golang-migrate does.');
  });

  it('refuses a version too large to order exactly', async () => {
    const set = await readMigrationSet(await folder({ '12345678901234567890_big.up.sql': sql(1) }));
    expect(problems(set)).toEqual([['error', 'BAD_VERSION', '12345678901234567890_big.up.sql', null]]);
  });

  it('warns that a Flyway repeatable migration (R__) is not run', async () => {
    const set = await readMigrationSet(await folder({ 'V1__a.sql': sql(1), 'U1__a.sql': 'DROP TABLE t1;', 'R__views.sql': 'CREATE OR REPLACE VIEW v AS SELECT 1;' }));
    expect(set.format).toBe('flyway');
    expect(versions(set)).toEqual([[1, 'a', 'V1__a.sql', 'U1__a.sql']]);
    expect(problems(set)).toEqual([['warning', 'NOT_RUN', 'R__views.sql', null]]);
  });
});

describe('assertRunnable', () => {
  it('accepts a set with migrations and only warnings', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': sql(1) }));
    expect(problems(set)).toEqual([['warning', 'MISSING_DOWN', '1_a.up.sql', null]]);
    expect(() => assertRunnable(set)).not.toThrow();
  });

  it('throws MIGRATION_SET_INVALID listing every error with its file (and line), and no warnings', async () => {
    const latin1 = Buffer.concat([Buffer.from('SELECT 1;\n\n-- '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]);
    const dir = await folder({ '1_a.up.sql': latin1, '2_b.up.sql': sql(2), '2_b.down.sql': '', '3_c.down.sql': 'SELECT 1;', 'x.sql': 'SELECT 1;' });
    const set = await readMigrationSet(dir);
    const e = thrown(() => assertRunnable(set));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toBe(
      [
        `The migration set in ${path.resolve(dir)} has 3 errors; nothing was applied:`,
        '  1_a.up.sql:3: 1_a.up.sql is not UTF-8: line 3 holds bytes that are not valid UTF-8.',
        '  2_b.down.sql: 2_b.down.sql is empty.',
        '  3_c.down.sql: 3_c.down.sql has no up migration for version 3.',
      ].join('\n'),
    );
    expect(e.hint).toBe('Convert the file to UTF-8 (for example iconv -f latin1 -t utf-8) and check the text on that line.');
    expect((e.details?.problems as unknown[]).length).toBe(3);
  });

  it('says "1 error" for one', async () => {
    const set = await readMigrationSet(await folder({ '1_a.up.sql': sql(1), '1_a.down.sql': '-- empty' }));
    expect(thrown(() => assertRunnable(set)).message).toBe(`The migration set in ${set.dir} has 1 error; nothing was applied:\n  1_a.down.sql: 1_a.down.sql is empty (only comments or whitespace).`);
  });

  it('says an empty folder holds no migration files', async () => {
    const dir = await tempDir();
    const set = await readMigrationSet(dir);
    expect(set).toEqual({ dir: path.resolve(dir), format: null, migrations: [], problems: [] });
    expect(summarise(set).formatLabel).toBe('no migration files found');
    const e = thrown(() => assertRunnable(set));
    expect(e.code).toBe('MIGRATION_SET_INVALID');
    expect(e.message).toBe(`No migration files in ${path.resolve(dir)}.`);
  });
});

describe('normalisedChecksum', () => {
  const lf = 'CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n';
  const expected = createHash('sha256').update(lf, 'utf8').digest('hex');

  it('is the sha256 of the text with LF line endings and no BOM', () => {
    expect(normalisedChecksum(lf)).toBe(expected);
    expect(normalisedChecksum(lf.replace(/\n/g, '\r\n'))).toBe(expected);
    expect(normalisedChecksum(lf.replace(/\n/g, '\r'))).toBe(expected);
    expect(normalisedChecksum(`\uFEFF${lf.replace(/\n/g, '\r\n')}`)).toBe(expected);
  });

  it('changes when one character changes', () => {
    expect(normalisedChecksum(lf.replace('(1)', '(2)'))).not.toBe(expected);
    expect(normalisedChecksum(`${lf} `)).not.toBe(expected);
  });

  it('gives files that differ only in line endings and a BOM the same checksum, and different byte counts', async () => {
    const dir = await folder({ '1_a.up.sql': lf, '1_a.down.sql': `\uFEFF${lf.replace(/\n/g, '\r\n')}` });
    const set = await readMigrationSet(dir);
    const m = set.migrations[0]!;
    expect(m.up!.checksum).toBe(expected);
    expect(m.down!.checksum).toBe(expected);
    expect(m.down!.text).toBe(lf.replace(/\n/g, '\r\n'));
    expect([m.up!.bytes, m.down!.bytes]).toEqual([lf.length, lf.length + 2 + 3]);
  });
});

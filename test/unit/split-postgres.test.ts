// The PostgreSQL splitter (PostgreSQL's own parser, libpg-query) and the segments the runner sends:
// transactions, and the statements that must run alone outside one.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPostgresParser, segmentPostgres, splitPostgres, type PgSegment } from '../../main/migrations/split-postgres';
import { FlightdeckError } from '../../shared/errors';

beforeAll(async () => {
  await loadPostgresParser();
});

function caught(fn: () => unknown): FlightdeckError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('expected a FlightdeckError');
}

const segment = (sql: string, serverVersionNum = 150000) => segmentPostgres(splitPostgres(sql, 'p.sql', serverVersionNum), 'p.sql');
/** Segments as [transactional, statement texts, reason]. */
const shape = (segments: PgSegment[]) => segments.map((s) => [s.transactional, s.statements.map((x) => x.text), s.reason ?? null]);

describe('splitPostgres', () => {
  it('keeps $$ and $tag$ function bodies with semicolons inside whole', () => {
    const sql = [
      'CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $$',
      'BEGIN',
      '  PERFORM 1;',
      '  RETURN 1;',
      'END $$;',
      "CREATE FUNCTION two() RETURNS text LANGUAGE plpgsql AS $fn$ BEGIN RETURN 'a;$$;b'; END $fn$;",
      'SELECT one();',
    ].join('\n');
    const out = splitPostgres(sql, 'p.sql');
    expect(out.map((s) => [s.index, s.line, s.kind])).toEqual([
      [0, 1, 'CreateFunctionStmt'],
      [1, 6, 'CreateFunctionStmt'],
      [2, 7, 'SelectStmt'],
    ]);
    expect(out[0]!.text).toBe('CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 1;\nEND $$');
    expect(out[1]!.text).toBe("CREATE FUNCTION two() RETURNS text LANGUAGE plpgsql AS $fn$ BEGIN RETURN 'a;$$;b'; END $fn$");
    expect(out[2]!.text).toBe('SELECT one()');
  });

  it('keeps a DO block whole', () => {
    const sql = "DO $$\nBEGIN\n  RAISE NOTICE 'x;y';\n  CREATE TABLE t (id int);\nEND\n$$;\nDROP TABLE t;";
    const out = splitPostgres(sql, 'p.sql');
    expect(out.map((s) => [s.line, s.kind, s.text])).toEqual([
      [1, 'DoStmt', "DO $$\nBEGIN\n  RAISE NOTICE 'x;y';\n  CREATE TABLE t (id int);\nEND\n$$"],
      [7, 'DropStmt', 'DROP TABLE t'],
    ]);
  });

  it('gives the line of the first token, after leading comments (nested too) and blank lines', () => {
    const sql = [
      '-- header',
      '',
      '/* block',
      '   comment */',
      'CREATE TABLE a (id int);',
      '',
      '-- next',
      'CREATE TABLE b (id int); CREATE TABLE c (id int);',
      '',
      '',
      '  /* outer /* inner */ still */ SELECT 1;',
    ].join('\n');
    expect(splitPostgres(sql, 'p.sql').map((s) => [s.line, s.text])).toEqual([
      [5, 'CREATE TABLE a (id int)'],
      [8, 'CREATE TABLE b (id int)'],
      [8, 'CREATE TABLE c (id int)'],
      [11, 'SELECT 1'],
    ]);
  });

  it('gives the right lines and texts after non-ASCII text (locations are byte offsets)', () => {
    const sql = "INSERT INTO t VALUES ('café');\n-- 😀😀 émoji\nINSERT INTO t VALUES ('🎉');\n\nSELECT 'ü', 'ß';";
    expect(splitPostgres(sql, 'p.sql').map((s) => [s.line, s.text])).toEqual([
      [1, "INSERT INTO t VALUES ('café')"],
      [3, "INSERT INTO t VALUES ('🎉')"],
      [5, "SELECT 'ü', 'ß'"],
    ]);
  });

  it('counts CRLF line endings like LF', () => {
    const sql = '-- a\r\n\r\nCREATE TABLE a (id int);\r\n-- b\r\nCREATE TABLE b (id int);\r\n';
    expect(splitPostgres(sql, 'p.sql').map((s) => [s.line, s.text])).toEqual([
      [3, 'CREATE TABLE a (id int)'],
      [5, 'CREATE TABLE b (id int)'],
    ]);
  });

  it('returns no statements for a file of comments only', () => {
    expect(splitPostgres('-- nothing\n/* here */\n', 'p.sql')).toEqual([]);
  });

  it('reports a syntax error as MIGRATION_SYNTAX with file:line:column and the line', () => {
    const e = caught(() => splitPostgres('SELECT 1;\n\nCREATE TABLE t (id int,);\n', 'p.sql'));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe('p.sql:3:24: syntax error at or near ")" (PostgreSQL\'s parser)\n  3 | CREATE TABLE t (id int,);');
    expect(e.hint).toBe('Fix the statement on line 3 of p.sql; nothing was applied.');
    expect(e.details).toEqual({ file: 'p.sql', line: 3, column: 24 });
  });

  it('places a syntax error correctly after é and emoji (the parser counts characters, JavaScript UTF-16 units)', () => {
    const sql = "SELECT 'é😀😀😀😀😀😀😀😀😀😀';\nSELEC 1;";
    const e = caught(() => splitPostgres(sql, 'p.sql'));
    expect(e.details).toEqual({ file: 'p.sql', line: 2, column: 1 });
    expect(e.message.startsWith('p.sql:2:1: syntax error at or near "SELEC"')).toBe(true);
    const e2 = caught(() => splitPostgres("SELECT '😀' FROM;", 'p.sql'));
    expect(e2.details).toEqual({ file: 'p.sql', line: 1, column: 16 });
  });
});

describe('segmentPostgres', () => {
  it('puts consecutive ordinary statements in one transactional segment', () => {
    expect(shape(segment('CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN b int;\nINSERT INTO a VALUES (1, 2);'))).toEqual([
      [true, ['CREATE TABLE a (id int)', 'ALTER TABLE a ADD COLUMN b int', 'INSERT INTO a VALUES (1, 2)'], null],
    ]);
  });

  it('returns no segments for no statements', () => {
    expect(segmentPostgres([], 'p.sql')).toEqual([]);
  });

  it.each([
    ['CREATE INDEX CONCURRENTLY i ON a (id)', 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block'],
    ['DROP INDEX CONCURRENTLY i', 'DROP INDEX CONCURRENTLY cannot run inside a transaction block'],
    ['REINDEX INDEX CONCURRENTLY i', 'REINDEX CONCURRENTLY cannot run inside a transaction block'],
    ['REINDEX (VERBOSE, CONCURRENTLY) TABLE a', 'REINDEX CONCURRENTLY cannot run inside a transaction block'],
    ['REINDEX SCHEMA public', 'REINDEX SCHEMA/SYSTEM/DATABASE cannot run inside a transaction block'],
    ['REINDEX DATABASE d', 'REINDEX SCHEMA/SYSTEM/DATABASE cannot run inside a transaction block'],
    ['VACUUM a', 'VACUUM cannot run inside a transaction block'],
    ['VACUUM (ANALYZE) a', 'VACUUM cannot run inside a transaction block'],
    ['ALTER DATABASE d SET TABLESPACE fast', 'ALTER DATABASE SET TABLESPACE cannot run inside a transaction block'],
    ['CREATE DATABASE d', 'CREATE/DROP DATABASE cannot run inside a transaction block'],
    ['ALTER SYSTEM SET work_mem = 1024', 'ALTER SYSTEM cannot run inside a transaction block'],
    ['ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY', 'DETACH PARTITION CONCURRENTLY cannot run inside a transaction block'],
  ])('runs %s alone, outside a transaction, between transactional segments', (stmt, reason) => {
    expect(shape(segment(`CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n${stmt};\nCREATE TABLE b (id int);`))).toEqual([
      [true, ['CREATE TABLE a (id int)', 'INSERT INTO a VALUES (1)'], null],
      [false, [stmt], reason],
      [true, ['CREATE TABLE b (id int)'], null],
    ]);
  });

  it.each(['CREATE INDEX i ON a (id)', 'DROP INDEX i', 'REINDEX TABLE a', 'ANALYZE a', 'CLUSTER a USING i', "ALTER DATABASE d SET work_mem = '1MB'"])(
    'keeps %s in the transaction',
    (stmt) => {
      expect(shape(segment(`CREATE TABLE a (id int);\n${stmt};\nCREATE TABLE b (id int);`))).toEqual([[true, ['CREATE TABLE a (id int)', stmt, 'CREATE TABLE b (id int)'], null]]);
    },
  );

  const addValue = "CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';\nCREATE TABLE m (v mood DEFAULT 'happy');";

  it('runs ALTER TYPE … ADD VALUE alone but in a transaction on PostgreSQL 12 and later', () => {
    expect(shape(segment(addValue, 150000))).toEqual([
      [true, ["CREATE TYPE mood AS ENUM ('sad')"], null],
      [true, ["ALTER TYPE mood ADD VALUE 'happy'"], 'ALTER TYPE … ADD VALUE commits on its own: the new value cannot be used until it commits'],
      [true, ["CREATE TABLE m (v mood DEFAULT 'happy')"], null],
    ]);
  });

  it('runs ALTER TYPE … ADD VALUE alone outside a transaction before PostgreSQL 12', () => {
    expect(shape(segment(addValue, 110000))).toEqual([
      [true, ["CREATE TYPE mood AS ENUM ('sad')"], null],
      [false, ["ALTER TYPE mood ADD VALUE 'happy'"], 'ALTER TYPE … ADD VALUE cannot run inside a transaction block before PostgreSQL 12'],
      [true, ["CREATE TABLE m (v mood DEFAULT 'happy')"], null],
    ]);
  });

  it('keeps ALTER TYPE … RENAME VALUE in the transaction', () => {
    const sql = "CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood RENAME VALUE 'sad' TO 'blue';\nSELECT 1;";
    expect(shape(segment(sql, 110000))).toEqual([[true, ["CREATE TYPE mood AS ENUM ('sad')", "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", 'SELECT 1'], null]]);
  });

  it("makes the file's own BEGIN … COMMIT one segment, without the BEGIN and COMMIT", () => {
    const sql = 'CREATE TABLE pre (id int);\nBEGIN;\nCREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nCOMMIT;\nCREATE TABLE post (id int);\nSTART TRANSACTION;\nSELECT 2;\nEND;';
    expect(shape(segment(sql))).toEqual([
      [true, ['CREATE TABLE pre (id int)'], null],
      [true, ['CREATE TABLE a (id int)', 'INSERT INTO a VALUES (1)'], null],
      [true, ['CREATE TABLE post (id int)'], null],
      [true, ['SELECT 2'], null],
    ]);
  });

  it("keeps ADD VALUE inside the file's BEGIN block on PostgreSQL 12 and later, and refuses it before", () => {
    const sql = "BEGIN;\nCREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';\nCOMMIT;";
    expect(shape(segment(sql, 150000))).toEqual([[true, ["CREATE TYPE mood AS ENUM ('sad')", "ALTER TYPE mood ADD VALUE 'happy'"], null]]);
    const e = caught(() => segment(sql, 110000));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.details).toEqual({ file: 'p.sql', line: 3 });
  });

  it("refuses CONCURRENTLY inside the file's own BEGIN block, naming its line", () => {
    const e = caught(() => segment('BEGIN;\nCREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY i ON a (id);\nCOMMIT;'));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe("p.sql:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and it is inside the file's own BEGIN … COMMIT.");
    expect(e.hint).toBe('Move the statement after the COMMIT (Flightdeck runs it on its own). Nothing was applied.');
    expect(e.details).toEqual({ file: 'p.sql', line: 3 });
  });

  it('refuses a BEGIN that is never committed, naming the last statement', () => {
    const e = caught(() => segment('CREATE TABLE a (id int);\nBEGIN;\nINSERT INTO a VALUES (1);\n\nINSERT INTO a VALUES (2);\n'));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe('p.sql:5: the file begins a transaction (BEGIN) and never commits it.');
    expect(e.details).toEqual({ file: 'p.sql', line: 5 });
  });

  it('refuses a COMMIT without a BEGIN, naming its line', () => {
    const e = caught(() => segment('CREATE TABLE a (id int);\n\nCOMMIT;'));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe('p.sql:3: COMMIT without a BEGIN before it in the file.');
    expect(e.details).toEqual({ file: 'p.sql', line: 3 });
  });

  it('refuses a ROLLBACK, naming its line', () => {
    const e = caught(() => segment('BEGIN;\nCREATE TABLE a (id int);\nROLLBACK;'));
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe('p.sql:3: ROLLBACK written in a migration file would silently undo the statements before it.');
    expect(e.details).toEqual({ file: 'p.sql', line: 3 });
  });

  it('refuses a BEGIN inside the BEGIN block, naming its line', () => {
    const e = caught(() => segment('BEGIN;\nCREATE TABLE a (id int);\nBEGIN;\nCOMMIT;'));
    expect(e.message).toBe('p.sql:3: BEGIN inside a transaction the file already began.');
    expect(e.details).toEqual({ file: 'p.sql', line: 3 });
  });
});

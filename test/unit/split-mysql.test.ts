// The MySQL splitter: the statements the mysql client would send, with the line each starts on,
// for files written with DELIMITER and for files written without it (golang-migrate style).
import { describe, expect, it } from 'vitest';
import { splitMysql, type MysqlStatement } from '../../main/migrations/split-mysql';
import { FlightdeckError } from '../../shared/errors';

const texts = (sql: string) => splitMysql(sql, 'm.sql').map((s) => s.text);
const lines = (sql: string) => splitMysql(sql, 'm.sql').map((s) => s.line);
const brief = (s: MysqlStatement) => ({ line: s.line, kind: s.kind, dml: s.dml });

function syntaxError(sql: string): FlightdeckError {
  try {
    splitMysql(sql, 'm.sql');
  } catch (e) {
    if (e instanceof FlightdeckError) return e;
    throw e;
  }
  throw new Error('splitMysql did not throw');
}

describe('splitMysql: plain statements', () => {
  it('splits on ; and gives each statement its index, text and first line', () => {
    const sql = 'CREATE TABLE a (id INT);\n\nINSERT INTO a VALUES (1);\n  UPDATE a SET id = 2; DELETE FROM a;\n';
    expect(splitMysql(sql, 'm.sql')).toEqual([
      { index: 0, text: 'CREATE TABLE a (id INT)', line: 1, kind: 'CREATE TABLE', dml: false },
      { index: 1, text: 'INSERT INTO a VALUES (1)', line: 3, kind: 'INSERT', dml: true },
      { index: 2, text: 'UPDATE a SET id = 2', line: 4, kind: 'UPDATE', dml: true },
      { index: 3, text: 'DELETE FROM a', line: 4, kind: 'DELETE', dml: true },
    ]);
  });

  it('keeps a last statement that has no terminating semicolon, and skips empty statements', () => {
    expect(texts('SELECT 1;;\n;\nSELECT 2')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('returns nothing for a file of comments and whitespace', () => {
    expect(splitMysql('-- a\n# b\n/* c; */\n\n', 'm.sql')).toEqual([]);
  });

  it('counts the lines of a statement that spans several lines', () => {
    expect(lines('CREATE TABLE a (\n  id INT,\n  name TEXT\n);\nDROP TABLE b;')).toEqual([1, 5]);
  });
});

describe('splitMysql: strings and identifiers', () => {
  it('does not split on ; inside single- or double-quoted strings', () => {
    expect(texts(`INSERT INTO t VALUES ('a;b', "c;d");\nSELECT 2;`)).toEqual([`INSERT INTO t VALUES ('a;b', "c;d")`, 'SELECT 2']);
  });

  it('reads a doubled quote as an escaped quote in both quote kinds', () => {
    const sql = `INSERT INTO t VALUES ('it''s; here', "say ""hi;"" now");\nSELECT 2;`;
    expect(texts(sql)).toEqual([`INSERT INTO t VALUES ('it''s; here', "say ""hi;"" now")`, 'SELECT 2']);
  });

  it('reads backslash escapes in strings, including an escaped backslash before the closing quote', () => {
    const sql = String.raw`INSERT INTO t VALUES ('it\'s;', "a \";b", 'dir\\');` + '\nSELECT 2;';
    expect(texts(sql)).toEqual([String.raw`INSERT INTO t VALUES ('it\'s;', "a \";b", 'dir\\')`, 'SELECT 2']);
  });

  it('does not split on ; inside backtick identifiers, with `` as an escaped backtick', () => {
    const sql = 'CREATE TABLE `we;ird` (`a;b` INT, `x``;y` INT);\nSELECT 2;';
    expect(texts(sql)).toEqual(['CREATE TABLE `we;ird` (`a;b` INT, `x``;y` INT)', 'SELECT 2']);
  });

  it('counts the newlines inside a string for the lines of the statements after it', () => {
    expect(lines("INSERT INTO t VALUES ('one\ntwo;\nthree');\nSELECT 2;")).toEqual([1, 4]);
  });
});

describe('splitMysql: comments', () => {
  it('ignores ; in "-- ", "#" and /* */ comments, and does not start a statement at a comment', () => {
    const sql = ['-- header; not a statement', '# another; one', '/* block ;', '   comment */', 'SELECT 1 -- trailing ; comment', ', 2; # done;', 'SELECT /* ; */ 3;'].join('\n');
    expect(splitMysql(sql, 'm.sql').map((s) => [s.line, s.text])).toEqual([
      [5, 'SELECT 1 -- trailing ; comment\n, 2'],
      [7, 'SELECT /* ; */ 3'],
    ]);
  });

  it('takes "--" as a comment only when whitespace follows it', () => {
    // 5--1 is 5 minus minus 1; "--x" is not a comment, so the ; after it ends the statement.
    expect(texts('SELECT 5--1;\nSELECT 1 --x;\nSELECT 2;\nSELECT 3 --\tx;\n;')).toEqual(['SELECT 5--1', 'SELECT 1 --x', 'SELECT 2', 'SELECT 3 --\tx;']);
  });

  it('treats "--" at the very end of the file as a comment', () => {
    expect(texts('SELECT 1;\n--')).toEqual(['SELECT 1']);
  });

  it('keeps /*! … */ (executable comments) in the statement', () => {
    expect(texts('/*!40101 SET NAMES utf8mb4 */;\nSELECT 1;')).toEqual(['/*!40101 SET NAMES utf8mb4 */', 'SELECT 1']);
  });
});

const withDelimiter = `DELIMITER //
CREATE PROCEDURE add_one(IN x INT)
BEGIN
  DECLARE y INT DEFAULT 0;
  SET y = x + 1;
  SELECT y;
END //
CREATE FUNCTION twice(a INT) RETURNS INT DETERMINISTIC
BEGIN
  RETURN a * 2;
END//

CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW
BEGIN
  SET NEW.a = 1;
  SET NEW.b = 2;
END //
DELIMITER ;
INSERT INTO t (a) VALUES (1);
`;

describe('splitMysql: DELIMITER', () => {
  it('splits on the DELIMITER in force, keeping BEGIN … END bodies whole, then returns to ;', () => {
    const out = splitMysql(withDelimiter, 'm.sql');
    expect(out.map(brief)).toEqual([
      { line: 2, kind: 'CREATE PROCEDURE', dml: false },
      { line: 8, kind: 'CREATE FUNCTION', dml: false },
      { line: 13, kind: 'CREATE TRIGGER', dml: false },
      { line: 19, kind: 'INSERT', dml: true },
    ]);
    expect(out[0]!.text).toBe('CREATE PROCEDURE add_one(IN x INT)\nBEGIN\n  DECLARE y INT DEFAULT 0;\n  SET y = x + 1;\n  SELECT y;\nEND');
    expect(out[1]!.text).toBe('CREATE FUNCTION twice(a INT) RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN a * 2;\nEND');
    expect(out[2]!.text).toBe('CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.a = 1;\n  SET NEW.b = 2;\nEND');
    expect(out[3]!.text).toBe('INSERT INTO t (a) VALUES (1)');
  });

  it('accepts a lower-case, indented delimiter command and a $$ delimiter', () => {
    const sql = 'SELECT 0;\n  delimiter $$\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END $$\n  delimiter ;\nSELECT 3;';
    expect(splitMysql(sql, 'm.sql').map((s) => [s.line, s.text])).toEqual([
      [1, 'SELECT 0'],
      [3, 'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END'],
      [5, 'SELECT 3'],
    ]);
  });

  it('ends a statement at a delimiter written right after a word (END$$)', () => {
    const sql = 'DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND$$\nCREATE PROCEDURE q() BEGIN SELECT 2; END$$\nDELIMITER ;\nSELECT 3;';
    expect(splitMysql(sql, 'm.sql').map((s) => [s.line, s.text])).toEqual([
      [2, 'CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND'],
      [6, 'CREATE PROCEDURE q() BEGIN SELECT 2; END'],
      [8, 'SELECT 3'],
    ]);
  });

  it('splits on a ;; delimiter (as mysqldump writes) but not on the single ; inside the body', () => {
    const sql = 'DELIMITER ;;\nCREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END;;\nDELIMITER ;\nSELECT 1;';
    expect(splitMysql(sql, 'm.sql').map((s) => [s.line, s.text])).toEqual([
      [2, 'CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END'],
      [4, 'SELECT 1'],
    ]);
  });

  it('refuses a DELIMITER made of a quote character', () => {
    const e = syntaxError("SELECT 1;\nDELIMITER '\nSELECT 2'");
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe("m.sql:2: DELIMITER ' uses a quote character.");
    expect(e.details).toEqual({ file: 'm.sql', line: 2 });
  });
});

describe('splitMysql: stored programs without DELIMITER', () => {
  const procedure = `CREATE PROCEDURE fill(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DROP TABLE IF EXISTS tmp_fill;
  CREATE TABLE IF NOT EXISTS tmp_fill (v INT);
  IF n > 10 THEN
    SET n = 10;
  ELSEIF n < 0 THEN
    SET n = 0;
  ELSE
    SET n = IF(n = 5, 6, n);
  END IF;
  CASE n
    WHEN 1 THEN SET i = 1;
    ELSE BEGIN SET i = 0; END;
  END CASE;
  WHILE i < n DO
    INSERT INTO tmp_fill VALUES (i);
    SET i = i + 1;
  END WHILE;
  fill_loop: LOOP
    SET i = i - 1;
    IF i <= 0 THEN LEAVE fill_loop; END IF;
  END LOOP fill_loop;
  REPEAT SET i = i + 1; UNTIL i >= 3 END REPEAT;
  SELECT CASE WHEN i = 0 THEN 'done' ELSE 'not' END AS state, REPEAT('x', 2) AS xs;
END;
SELECT 1;`;

  it('keeps a procedure with nested IF, CASE, WHILE, a labelled LOOP, REPEAT, IF() and IF EXISTS whole', () => {
    const out = splitMysql(procedure, 'm.sql');
    expect(out.map(brief)).toEqual([
      { line: 1, kind: 'CREATE PROCEDURE', dml: false },
      { line: 28, kind: 'SELECT', dml: false },
    ]);
    expect(out[0]!.text).toBe(procedure.slice(0, procedure.indexOf('END;\nSELECT 1;') + 3));
    expect(out[1]!.text).toBe('SELECT 1');
  });

  it('gives the same result when the same procedure is written with DELIMITER', () => {
    const delimited = `DELIMITER //\n${procedure.replace('END;\nSELECT 1;', 'END //\nDELIMITER ;\nSELECT 1;')}`;
    const out = splitMysql(delimited, 'm.sql');
    expect(out.map((s) => s.text)).toEqual(splitMysql(procedure, 'm.sql').map((s) => s.text));
    expect(out.map((s) => s.line)).toEqual([2, 30]);
  });

  it('keeps IF statements whose condition starts with NOT or EXISTS (a subquery) inside the body', () => {
    const sql = `CREATE PROCEDURE ensure_row()
BEGIN
  IF NOT EXISTS (SELECT 1 FROM t WHERE id = 1) THEN
    INSERT INTO t VALUES (1);
  END IF;
  IF EXISTS(SELECT 1 FROM t WHERE id = 2) THEN
    DELETE FROM t WHERE id = 2;
  END IF;
  IF NOT @done THEN SET @done = 1; END IF;
  DROP TEMPORARY TABLE IF EXISTS \`tmp\`;
END;
INSERT INTO t VALUES (3);`;
    const out = splitMysql(sql, 'm.sql');
    expect(out.map(brief)).toEqual([
      { line: 1, kind: 'CREATE PROCEDURE', dml: false },
      { line: 12, kind: 'INSERT', dml: true },
    ]);
    expect(out[0]!.text.endsWith('DROP TEMPORARY TABLE IF EXISTS `tmp`;\nEND')).toBe(true);
  });

  it('keeps a function with a DEFINER clause whole', () => {
    const sql = 'CREATE DEFINER=`root`@`%` FUNCTION twice(x INT) RETURNS INT DETERMINISTIC\nBEGIN\n  DECLARE y INT;\n  SET y = x * 2;\n  RETURN y;\nEND;\nSELECT twice(2);';
    const out = splitMysql(sql, 'm.sql');
    expect(out.map(brief)).toEqual([
      { line: 1, kind: 'CREATE FUNCTION', dml: false },
      { line: 7, kind: 'SELECT', dml: false },
    ]);
    expect(out[0]!.text).toBe(sql.slice(0, sql.indexOf('\nSELECT') - 1));
  });

  it('ends a trigger without BEGIN at its first semicolon', () => {
    const sql = 'CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.created = NOW();\nINSERT INTO t (a) VALUES (1);';
    expect(splitMysql(sql, 'm.sql').map((s) => [s.line, s.kind, s.text])).toEqual([
      [1, 'CREATE TRIGGER', 'CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.created = NOW()'],
      [2, 'INSERT', 'INSERT INTO t (a) VALUES (1)'],
    ]);
  });

  it('keeps a trigger whose body is a single IF statement whole', () => {
    const sql = 'CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nIF NEW.a < 0 THEN SET NEW.a = 0; SET NEW.b = 1; END IF;\nSELECT 1;';
    expect(texts(sql)).toEqual(['CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nIF NEW.a < 0 THEN SET NEW.a = 0; SET NEW.b = 1; END IF', 'SELECT 1']);
  });

  it('does not count BEGIN WORK or BEGIN; outside a stored program as a block', () => {
    expect(texts('BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN WORK;\nSELECT 1;')).toEqual(['BEGIN', 'INSERT INTO t VALUES (1)', 'COMMIT', 'BEGIN WORK', 'SELECT 1']);
  });
});

describe('splitMysql: kind and dml', () => {
  it('names the first keyword(s) and marks INSERT, UPDATE, DELETE and REPLACE as DML', () => {
    const sql = [
      'CREATE TABLE a (id INT);',
      'ALTER TABLE a ADD COLUMN b INT;',
      'DROP TABLE a;',
      'DROP PROCEDURE IF EXISTS p;',
      'insert into a values (1);',
      'UPDATE a SET b = 1;',
      'DELETE FROM a;',
      'REPLACE INTO a VALUES (2);',
      'SELECT 1;',
      'SET @x = 1;',
      'RENAME TABLE a TO b;',
      'CREATE /* note */ INDEX i ON a (b);',
    ].join('\n');
    expect(splitMysql(sql, 'm.sql').map((s) => [s.kind, s.dml])).toEqual([
      ['CREATE TABLE', false],
      ['ALTER TABLE', false],
      ['DROP TABLE', false],
      ['DROP PROCEDURE', false],
      ['INSERT', true],
      ['UPDATE', true],
      ['DELETE', true],
      ['REPLACE', true],
      ['SELECT', false],
      ['SET', false],
      ['RENAME', false],
      ['CREATE INDEX', false],
    ]);
  });
});

describe('splitMysql: errors', () => {
  it('reports an unterminated string with the line where it opened', () => {
    const e = syntaxError("SELECT 1;\nINSERT INTO t VALUES ('abc);\nSELECT 2;\n");
    expect(e.code).toBe('MIGRATION_SYNTAX');
    expect(e.message).toBe("m.sql:2: the string ' opened here is never closed.");
    expect(e.hint).toBe('Close it, or check for a stray quote on line 2. Nothing was applied.');
    expect(e.details).toEqual({ file: 'm.sql', line: 2 });
  });

  it('reports an unterminated double-quoted string, backtick identifier and block comment by line', () => {
    expect(syntaxError('SELECT 1;\n\nSELECT "abc;').message).toBe('m.sql:3: the string " opened here is never closed.');
    expect(syntaxError('SELECT `abc;\nSELECT 2;').message).toBe('m.sql:1: the identifier ` opened here is never closed.');
    expect(syntaxError("SELECT 'a\nb';\nSELECT 2; /* not\nclosed").details).toEqual({ file: 'm.sql', line: 3 });
  });
});

describe('splitMysql: CRLF line endings', () => {
  it('gives the same statements and line numbers as LF', () => {
    const lf = `-- header\n\n${withDelimiter}/* c\n */\nSELECT 'x\ny';\nUPDATE t SET a = 2;\n`;
    const crlf = lf.replace(/\n/g, '\r\n');
    const a = splitMysql(lf, 'm.sql');
    const b = splitMysql(crlf, 'm.sql');
    expect(b.map(brief)).toEqual(a.map(brief));
    expect(b.map((s) => s.text.replace(/\r\n/g, '\n'))).toEqual(a.map((s) => s.text));
    expect(a.map((s) => s.line)).toEqual([4, 10, 15, 21, 24, 26]);
  });
});

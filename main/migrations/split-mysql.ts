// Splits a MySQL/MariaDB migration file into the statements the mysql client would send.
//
// Written by hand because no maintained library does this part: DELIMITER is a command of the
// mysql client, not SQL, so the server and SQL parsers (node-sql-parser included) reject it, and
// the tools that handle it (the mysql client, Flyway) are not JavaScript. The lexer knows what the
// client knows: quoted strings and identifiers with their escapes, the three comment forms,
// DELIMITER lines, and, for files written without DELIMITER (as golang-migrate users write them),
// the BEGIN … END bodies of stored programs, which the server parses whole. Whether each statement
// is valid is left to the server's parser (see preflight in engine-mysql.ts).
import { FlightdeckError } from '../../shared/errors';

export interface MysqlStatement {
  index: number;
  text: string;
  line: number;
  /** First keyword(s), upper-case: 'CREATE PROCEDURE', 'ALTER TABLE', 'INSERT' … */
  kind: string;
  /** DML runs inside a transaction and rolls back; anything else commits implicitly in MySQL. */
  dml: boolean;
}

const storedProgram = /^CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|"[^"]*"|[^\s@]+)(?:@(?:`[^`]*`|'[^']*'|"[^"]*"|[^\s]+))?\s+)?(?:AGGREGATE\s+)?(PROCEDURE|FUNCTION|TRIGGER|EVENT)\b/i;
const dmlKinds = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

export function splitMysql(text: string, file: string): MysqlStatement[] {
  const out: MysqlStatement[] = [];
  let delimiter = ';';
  let i = 0;
  let line = 1;
  let start = -1;
  let startLine = 1;
  // BEGIN … END nesting inside a stored program written without DELIMITER.
  let depth = 0;
  let program = false;
  let prevWord = '';

  const emit = (end: number) => {
    if (start < 0) return;
    const body = text.slice(start, end).trim();
    if (body) {
      const words = body.replace(/\/\*[\s\S]*?\*\//g, ' ').trim().split(/\s+/).slice(0, 2).map((w) => w.toUpperCase().replace(/[^A-Z_]/g, ''));
      const first = words[0] ?? '';
      const kind = ['CREATE', 'ALTER', 'DROP'].includes(first) ? `${first} ${storedProgram.exec(body)?.[1]?.toUpperCase() ?? words[1] ?? ''}`.trim() : first;
      out.push({ index: out.length, text: body, line: startLine, kind, dml: dmlKinds.has(first) });
    }
    start = -1;
    depth = 0;
    program = false;
    prevWord = '';
  };
  const atLineStart = (pos: number) => pos === 0 || /\n[ \t]*$/.test(text.slice(Math.max(0, pos - 200), pos));

  while (i < text.length) {
    const c = text[i]!;
    // DELIMITER is only a command at the start of a line, between statements.
    if ((c === 'D' || c === 'd') && start < 0 && atLineStart(i)) {
      const m = /^delimiter[ \t]+(\S+)[ \t]*(?:\r?\n|$)/i.exec(text.slice(i, i + 200));
      if (m) {
        delimiter = m[1]!;
        if (/['"`]/.test(delimiter)) throw new FlightdeckError('MIGRATION_SYNTAX', `${file}:${line}: DELIMITER ${delimiter} uses a quote character.`, 'Use a delimiter such as // or $$. Nothing was applied.', { file, line });
        i += m[0].length;
        if (m[0].endsWith('\n')) line++;
        continue;
      }
    }
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    // Comments: "-- " (dashes then whitespace), "#", and /* */ (but /*! … */ is executable SQL).
    if ((c === '-' && text[i + 1] === '-' && (i + 2 >= text.length || /\s/.test(text[i + 2]!))) || c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*' && text[i + 2] !== '!') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw unterminated(file, line, 'comment /*');
      line += countNewlines(text, i, end + 2);
      i = end + 2;
      continue;
    }
    if (text.startsWith(delimiter, i) && depth === 0) {
      emit(i);
      i += delimiter.length;
      continue;
    }
    if (start < 0) {
      start = i;
      startLine = line;
      program = storedProgram.test(text.slice(i, i + 300));
    }
    if (c === "'" || c === '"' || c === '`') {
      const end = closingQuote(text, i, c);
      if (end < 0) throw unterminated(file, line, c === '`' ? 'identifier `' : `string ${c}`);
      line += countNewlines(text, i, end + 1);
      i = end + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      // The client finds the delimiter even inside a word, so END$$ ends the statement at $$.
      while (j < text.length && /[A-Za-z0-9_$]/.test(text[j]!) && !text.startsWith(delimiter, j)) j++;
      const word = text.slice(i, j).toUpperCase();
      if (program && delimiter === ';') {
        const next = /^\s*(\S)/.exec(text.slice(j, j + 40))?.[1] ?? '';
        const nextWord = /^\s*([A-Za-z]+)/.exec(text.slice(j, j + 40))?.[1]?.toUpperCase() ?? '';
        if (word === 'END') {
          depth = Math.max(0, depth - 1);
        } else if (prevWord !== 'END') {
          if (word === 'BEGIN' && !['WORK', 'TRANSACTION'].includes(nextWord) && next !== ';') depth++;
          else if (word === 'CASE') depth++;
          else if (['LOOP', 'WHILE', 'REPEAT'].includes(word) && next !== '(') depth++;
          // IF [NOT] EXISTS before a name is DDL's clause (DROP TABLE IF EXISTS t); before a
          // subquery, or NOT before any other condition, it is an IF statement that ends in END IF.
          else if (word === 'IF' && next !== '(' && !/^\s*(?:NOT\s+)?EXISTS\b\s*[^\s(]/i.test(text.slice(j, j + 80))) depth++;
        }
      }
      prevWord = word;
      i = j;
      continue;
    }
    prevWord = c === ':' ? prevWord : '';
    i++;
  }
  emit(text.length);
  return out;
}

function closingQuote(text: string, open: number, q: string): number {
  let i = open + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && q !== '`') {
      i += 2;
      continue;
    }
    if (c === q) {
      if (text[i + 1] === q) {
        i += 2;
        continue;
      }
      return i;
    }
    i++;
  }
  return -1;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text[i] === '\n') n++;
  return n;
}

function unterminated(file: string, line: number, what: string): FlightdeckError {
  return new FlightdeckError('MIGRATION_SYNTAX', `${file}:${line}: the ${what} opened here is never closed.`, `Close it, or check for a stray quote on line ${line}. Nothing was applied.`, { file, line });
}

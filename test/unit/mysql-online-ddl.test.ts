// The MySQL/MariaDB online-DDL answers, statement by statement, as MySQL 8.0's "Online DDL
// Operations" tables give them; explicit ALGORITHM= / LOCK= clauses win.
import { describe, expect, it } from 'vitest';
import { analyseMysqlStatement, parseMysql } from '../../main/analysis/mysql-online-ddl';

function answer(sql: string) {
  const p = parseMysql(sql);
  if (!p.ok || !p.ast) throw new Error(`does not parse: ${p.error}`);
  const a = analyseMysqlStatement(p.ast);
  return { command: a.command, class: a.class, blocks: a.blocks, ...(a.online ? { online: `${a.online.algorithm}/${a.online.lock}${a.online.rebuild ? '/rebuild' : ''}` } : {}) };
}

describe('MySQL online DDL answers', () => {
  it.each([
    ['ALTER TABLE t ADD COLUMN note VARCHAR(40)', 'INSTANT/NONE', 'nothing', 'backward-compatible'],
    ['ALTER TABLE t ADD COLUMN n INT NOT NULL', 'INSTANT/NONE', 'nothing', 'backward-incompatible'],
    ['ALTER TABLE t DROP COLUMN legacy', 'INSTANT/NONE', 'nothing', 'backward-incompatible'],
    ['ALTER TABLE t RENAME COLUMN a TO b', 'INSTANT/NONE', 'nothing', 'backward-incompatible'],
    ['ALTER TABLE t MODIFY COLUMN total DECIMAL(14,2) NOT NULL', 'COPY/SHARED/rebuild', 'writes', 'backward-incompatible'],
    ['ALTER TABLE t CHANGE COLUMN a b BIGINT', 'COPY/SHARED/rebuild', 'writes', 'backward-incompatible'],
    ['ALTER TABLE t ADD INDEX i (a)', 'INPLACE/NONE', 'nothing', 'backward-compatible'],
    ['ALTER TABLE t ADD UNIQUE INDEX u (a)', 'INPLACE/NONE', 'nothing', 'backward-compatible'],
    ['ALTER TABLE t ADD FULLTEXT INDEX f (a)', 'INPLACE/SHARED', 'writes', 'backward-compatible'],
    ['ALTER TABLE t DROP INDEX i', 'INPLACE/NONE', 'nothing', 'backward-compatible'],
    ['ALTER TABLE t ADD PRIMARY KEY (id)', 'INPLACE/NONE/rebuild', 'nothing', 'backward-compatible'],
    ['ALTER TABLE t DROP PRIMARY KEY', 'COPY/SHARED/rebuild', 'writes', 'backward-incompatible'],
    ['ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (x) REFERENCES p (id)', 'COPY/SHARED/rebuild', 'writes', 'backward-compatible'],
    ['ALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0)', 'COPY/SHARED/rebuild', 'writes', 'backward-compatible'],
    ['ALTER TABLE t ENGINE=InnoDB', 'INPLACE/NONE/rebuild', 'nothing', 'other'],
    ['ALTER TABLE t ADD INDEX i (a), ALGORITHM=COPY', 'COPY/SHARED', 'writes', 'backward-compatible'],
    ['ALTER TABLE t ADD COLUMN c INT, LOCK=EXCLUSIVE', 'INSTANT/EXCLUSIVE', 'reads-and-writes', 'backward-compatible'],
    ['ALTER TABLE t MODIFY COLUMN b VARCHAR(100), ALGORITHM=INPLACE, LOCK=NONE', 'INPLACE/NONE/rebuild', 'nothing', 'backward-incompatible'],
    ['CREATE INDEX i ON t (a)', 'INPLACE/NONE', 'nothing', 'backward-compatible'],
    ['CREATE INDEX i ON t (a) ALGORITHM=COPY LOCK=SHARED', 'COPY/SHARED', 'writes', 'backward-compatible'],
  ])('%s → %s, blocks %s', (sql, online, blocks, cls) => {
    expect(answer(sql)).toMatchObject({ online, blocks, class: cls });
  });

  it('classifies drops, renames and data changes, and notes an UPDATE without WHERE', () => {
    expect(answer('DROP TABLE legacy')).toMatchObject({ command: 'DROP TABLE', class: 'backward-incompatible', blocks: 'reads-and-writes' });
    expect(answer('RENAME TABLE a TO b')).toMatchObject({ command: 'RENAME TABLE', class: 'backward-incompatible' });
    expect(answer('UPDATE t SET a = 1')).toMatchObject({ command: 'UPDATE', class: 'data-transformation' });
    const p = parseMysql('UPDATE t SET a = 1');
    expect(analyseMysqlStatement(p.ast!).notes[0]).toMatch(/^UPDATE without WHERE changes every row/);
  });

  it('reports what its grammar cannot parse instead of guessing', () => {
    const p = parseMysql('ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4');
    expect(p.ok).toBe(false);
    expect(p.error).toMatch(/^node-sql-parser's MySQL grammar does not cover it/);
  });
});

// The second batch of lint rules on the cases their examples do not pin down: tables created
// earlier in the file, lock_timeout set (or unset) earlier, the transaction a statement shares,
// the generated down, backups before a destructive down, and silences with their reasons.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planSet } from '../../main/analysis/plan-set';
import { backfillInSchemaMigration } from '../../main/analysis/rules/backfill-in-schema-migration';
import { concurrentlyInTransaction } from '../../main/analysis/rules/concurrently-in-transaction';
import { dataLossRollback } from '../../main/analysis/rules/data-loss-rollback';
import { indexWithoutConcurrently } from '../../main/analysis/rules/index-without-concurrently';
import { downFileName, missingDown } from '../../main/analysis/rules/missing-down';
import { missingLockTimeout } from '../../main/analysis/rules/missing-lock-timeout';
import type { Rule } from '../../main/analysis/rules/rule';
import { transactionControlInFile } from '../../main/analysis/rules/transaction-control-in-file';
import { workAfterAccessExclusive } from '../../main/analysis/rules/work-after-access-exclusive';
import { readMigrationSet } from '../../main/migrations/migration-set';
import type { Finding, PlanReport } from '../../shared/plan';
import { lintExample } from '../support/lint-example';

beforeAll(async () => {
  const { loadPostgresParser } = await import('../../main/migrations/split-postgres');
  await loadPostgresParser();
});

/** Plans a one-migration set with the given files (names → SQL) and these rules. */
async function plan(files: Record<string, string>, rules: Rule[]): Promise<PlanReport> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-lint-b-'));
  try {
    for (const [name, sql] of Object.entries(files)) await fs.writeFile(path.join(dir, name), sql);
    return await planSet(await readMigrationSet(dir), { engine: 'postgres', rules });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const ids = (findings: Finding[]) => findings.map((f) => f.rule);

describe('a table created earlier in the same file is new and empty', () => {
  const lockRules = [indexWithoutConcurrently, missingLockTimeout, workAfterAccessExclusive];

  it('triggers none of the lock rules', async () => {
    const sql = [
      'CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint, total numeric);',
      'ALTER TABLE invoices ADD COLUMN paid_at timestamptz;',
      'CREATE INDEX invoices_customer_id_idx ON invoices (customer_id);',
      'UPDATE invoices SET total = 0 WHERE total IS NULL;',
      'ALTER TABLE invoices ALTER COLUMN total SET NOT NULL;',
      'CREATE INDEX invoices_paid_at_idx ON invoices (paid_at);',
      'DROP INDEX invoices_paid_at_idx;',
      'REINDEX INDEX invoices_customer_id_idx;',
    ].join('\n');
    expect(await lintExample(sql, lockRules)).toEqual([]);
  });

  it('while the same statements on an existing table trigger each of them', async () => {
    const sql = [
      'ALTER TABLE invoices ADD COLUMN paid_at timestamptz;',
      'CREATE INDEX invoices_paid_at_idx ON invoices (paid_at);',
    ].join('\n');
    const findings = await lintExample(sql, lockRules);
    expect(ids(findings).sort()).toEqual(['index-without-concurrently', 'missing-lock-timeout', 'work-after-access-exclusive']);
    expect(findings.find((f) => f.rule === 'work-after-access-exclusive')!.line).toBe(1);
    expect(findings.find((f) => f.rule === 'index-without-concurrently')!.line).toBe(2);
  });

  it('and a lock on an existing table referenced from the new one still counts', async () => {
    const findings = await lintExample('CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));', [missingLockTimeout]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('SHARE ROW EXCLUSIVE on customers');
  });
});

describe('missing-lock-timeout', () => {
  it('is silenced by a SET lock_timeout earlier in the file, not by one after', async () => {
    expect(await lintExample("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;", missingLockTimeout)).toEqual([]);
    expect(await lintExample("SET LOCAL lock_timeout = 2000;\nALTER TABLE orders ADD COLUMN note text;", missingLockTimeout)).toEqual([]);
    const after = await lintExample("ALTER TABLE orders ADD COLUMN note text;\nSET lock_timeout = '2s';", missingLockTimeout);
    expect(after.map((f) => f.line)).toEqual([1]);
  });

  it('treats lock_timeout = 0, DEFAULT and RESET as no timeout', async () => {
    for (const off of ['SET lock_timeout = 0;', "SET lock_timeout = '0';", 'SET lock_timeout TO DEFAULT;', 'RESET lock_timeout;', 'RESET ALL;']) {
      const findings = await lintExample(`SET lock_timeout = '2s';\n${off}\nALTER TABLE orders ADD COLUMN note text;`, missingLockTimeout);
      expect(findings.map((f) => f.line), off).toEqual([3]);
    }
  });

  it('reports once per file, at the first statement that needs it, with the rewrite before it', async () => {
    const sql = ['UPDATE settings SET value = 1 WHERE key = \'x\';', 'ALTER TABLE orders ADD COLUMN note text;', 'ALTER TABLE users ADD COLUMN note text;', 'CREATE INDEX users_note_idx ON users (note);'].join('\n');
    const findings = await lintExample(sql, missingLockTimeout);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.line).toBe(2);
    expect(findings[0]!.message).toContain('ACCESS EXCLUSIVE on orders');
    expect(findings[0]!.message).toContain('200 ms');
    expect(findings[0]!.rewrite.startsWith("SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;")).toBe(true);
  });

  it('keeps a silenced finding in the record, with its reason', async () => {
    const up = ['-- flightdeck:ignore missing-lock-timeout reason: run at 03:00 with the app in maintenance mode', 'ALTER TABLE orders ADD COLUMN note text;'].join('\n');
    const report = await plan({ '1_note.up.sql': up, '1_note.down.sql': 'ALTER TABLE orders DROP COLUMN note;' }, [missingLockTimeout]);
    const findings = report.migrations[0]!.up!.findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'missing-lock-timeout', line: 2, silenced: { reason: 'run at 03:00 with the app in maintenance mode', line: 1 } });
    // The down has no silence: its finding counts.
    expect(report.counts).toMatchObject({ silenced: 1, warning: 1 });
    expect(report.migrations[0]!.down!.findings[0]).not.toHaveProperty('silenced');
  });
});

describe('index-without-concurrently', () => {
  it('rewrites with CONCURRENTLY, keeping the statement, and says how to clear an invalid index', async () => {
    const [f] = await lintExample('CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON app.users USING btree (lower(email)) WHERE deleted_at IS NULL;', indexWithoutConcurrently);
    expect(f!.rewrite.split('\n')[0]).toBe('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON app.users USING btree (lower(email)) WHERE deleted_at IS NULL;');
    expect(f!.rewrite).toContain('DROP INDEX CONCURRENTLY IF EXISTS app.users_email_key;');
    expect(f!.rewrite).toContain('outside the file\'s transaction');
  });

  it('drops one index per CONCURRENTLY statement, and only those not created in the file', async () => {
    const [f] = await lintExample('CREATE INDEX CONCURRENTLY tmp_idx ON orders (id);\nDROP INDEX tmp_idx, orders_a_idx, "Orders_B";', indexWithoutConcurrently);
    expect(f!.message).toContain('orders_a_idx, Orders_B');
    expect(f!.rewrite).toContain('DROP INDEX CONCURRENTLY IF EXISTS orders_a_idx;\nDROP INDEX CONCURRENTLY IF EXISTS "Orders_B";');
    expect(f!.rewrite).not.toContain('tmp_idx');
  });

  it('tells to move it out of the file\'s own BEGIN block', async () => {
    const [f] = await lintExample('BEGIN;\nCREATE INDEX orders_a_idx ON orders (a);\nCOMMIT;', indexWithoutConcurrently);
    expect(f!.rewrite).toContain('move it after the COMMIT');
  });

  it('covers REINDEX TABLE and SCHEMA, not REINDEX SYSTEM', async () => {
    expect((await lintExample('REINDEX TABLE orders;', indexWithoutConcurrently))[0]!.rewrite).toMatch(/^REINDEX TABLE CONCURRENTLY orders;/);
    expect((await lintExample('REINDEX SCHEMA app;', indexWithoutConcurrently))[0]!.rewrite).toMatch(/^REINDEX SCHEMA CONCURRENTLY app;/);
    expect(await lintExample('REINDEX SYSTEM;', indexWithoutConcurrently)).toEqual([]);
  });
});

describe('concurrently-in-transaction', () => {
  it('is an error inside the file\'s BEGIN, information beside other statements, nothing alone', async () => {
    const inBlock = await lintExample('SET lock_timeout = \'2s\';\nBEGIN;\nCREATE INDEX CONCURRENTLY a_idx ON t (a);\nCOMMIT;', concurrentlyInTransaction);
    expect(inBlock.map((f) => [f.severity, f.line])).toEqual([['error', 3]]);
    const beside = await lintExample('BEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY a_idx ON t (a);', concurrentlyInTransaction);
    expect(beside.map((f) => [f.severity, f.line])).toEqual([['info', 4]]);
    expect(beside[0]!.message).toContain('golang-migrate');
    expect(await lintExample('CREATE INDEX CONCURRENTLY a_idx ON t (a);', concurrentlyInTransaction)).toEqual([]);
  });

  it('covers the other statements that refuse a transaction block', async () => {
    const [f] = await lintExample('BEGIN;\nVACUUM orders;\nCOMMIT;', concurrentlyInTransaction);
    expect(f).toMatchObject({ severity: 'error', line: 2 });
  });
});

describe('work-after-access-exclusive', () => {
  it('looks only at the statements of the same transaction', async () => {
    // The file's COMMIT and a CONCURRENTLY statement both end the transaction.
    expect(await lintExample("BEGIN;\nALTER TABLE users ADD COLUMN status text;\nCOMMIT;\nUPDATE users SET status = 'x' WHERE id = 1;", workAfterAccessExclusive)).toEqual([]);
    expect(await lintExample("ALTER TABLE users ADD COLUMN status text;\nCREATE INDEX CONCURRENTLY users_status_idx ON users (status);\nALTER TABLE users ALTER COLUMN status SET DEFAULT 'x';", workAfterAccessExclusive)).toEqual([]);
  });

  it('ignores quick catalogue work after the lock, and counts another existing table\'s lock', async () => {
    expect(await lintExample("ALTER TABLE users ADD COLUMN status text;\nALTER TABLE users ALTER COLUMN status SET DEFAULT 'x';\nCOMMENT ON COLUMN users.status IS 's';\nCREATE TABLE statuses (code text PRIMARY KEY);", workAfterAccessExclusive)).toEqual([]);
    const [f] = await lintExample('ALTER TABLE users ADD COLUMN org_id bigint;\nALTER TABLE orgs ADD COLUMN plan text;', workAfterAccessExclusive);
    expect(f!.message).toContain('locks orgs');
    // Independent work: reordering is offered too.
    expect(f!.rewrite).toContain('Or take the lock last');
  });

  it('reports the statement that first takes the lock, not the ones after it on the same table', async () => {
    const sql = ['ALTER TABLE orders ADD COLUMN item_count integer;', 'UPDATE orders SET item_count = 0 WHERE item_count IS NULL;', 'ALTER TABLE orders ALTER COLUMN item_count SET DEFAULT 0;', 'ALTER TABLE orders ALTER COLUMN item_count SET NOT NULL;'].join('\n');
    const findings = await lintExample(sql, workAfterAccessExclusive);
    expect(findings.map((f) => f.line)).toEqual([1]);
    // SET NOT NULL scans under its own ACCESS EXCLUSIVE: as long in a transaction of its own.
    expect(findings[0]!.message).toContain('1 later statement');
  });

  it('offers only the split when the later work needs the change', async () => {
    const [f] = await lintExample("ALTER TABLE users ADD COLUMN status text;\nUPDATE users SET status = 'active' WHERE status IS NULL;", workAfterAccessExclusive);
    expect(f!.rewrite).toContain('Split it');
    expect(f!.rewrite).not.toContain('take the lock last');
  });
});

describe('backfill-in-schema-migration', () => {
  it('batches the UPDATE by id ranges, keeping its own condition and the alias of a join', async () => {
    const sql = "ALTER TABLE orders ADD COLUMN region text;\nUPDATE orders o SET region = c.region FROM customers c WHERE c.id = o.customer_id AND o.region IS NULL RETURNING o.id;";
    const [f] = await lintExample(sql, backfillInSchemaMigration);
    expect(f!.line).toBe(2);
    expect(f!.rewrite).toContain('UPDATE orders o SET region = c.region FROM customers c\n     WHERE o.id >= bf_lo AND o.id < bf_lo + bf_batch\n       AND (c.id = o.customer_id AND o.region IS NULL);');
    expect(f!.rewrite).toContain('COMMIT;');
    expect(f!.rewrite).toContain('RAISE NOTICE');
    expect(f!.rewrite).not.toContain('RETURNING');
  });

  it('does not take a subquery\'s WHERE for the statement\'s', async () => {
    const [f] = await lintExample('UPDATE users SET score = (SELECT count(*) FROM posts WHERE posts.user_id = users.id);', backfillInSchemaMigration);
    expect(f!.message).toContain('without WHERE');
    expect(f!.rewrite).toContain('UPDATE users SET score = (SELECT count(*) FROM posts WHERE posts.user_id = users.id)\n     WHERE id >= bf_lo AND id < bf_lo + bf_batch;');
  });

  it('leaves seed rows and data-only files with a WHERE alone', async () => {
    expect(await lintExample("ALTER TABLE plans ADD COLUMN tier int;\nINSERT INTO plans (code, tier) VALUES ('pro', 2);", backfillInSchemaMigration)).toEqual([]);
    expect(await lintExample("UPDATE users SET plan = 'pro' WHERE id = 42;\nDELETE FROM sessions WHERE expires_at < now();", backfillInSchemaMigration)).toEqual([]);
  });
});

describe('missing-down', () => {
  it('generates the inverse of a 3-statement up, in reverse order', async () => {
    const up = [
      'CREATE TABLE audit_log (id bigserial PRIMARY KEY, actor text NOT NULL);',
      'ALTER TABLE app.users ADD COLUMN last_login_at timestamptz, ADD COLUMN "loginCount" int;',
      'CREATE INDEX CONCURRENTLY users_last_login_at_idx ON app.users (last_login_at);',
    ].join('\n');
    const report = await plan({ '20240101120000_login.up.sql': up }, [missingDown]);
    const [f] = report.migrations[0]!.up!.findings;
    expect(f).toMatchObject({ rule: 'missing-down', severity: 'error', line: 1, statement: -1 });
    expect(f!.rewrite).toBe(
      [
        "Write 20240101120000_login.down.sql, the up's inverse in reverse order:",
        'DROP INDEX CONCURRENTLY IF EXISTS app.users_last_login_at_idx;',
        'ALTER TABLE app.users DROP COLUMN "loginCount", DROP COLUMN last_login_at;',
        'DROP TABLE audit_log;',
        '-- If the migration is irreversible by design, say so in the up: -- flightdeck:ignore-file missing-down reason: <why rollback means a restore>',
      ].join('\n'),
    );
  });

  it('marks what it cannot compute as lines to write by hand', async () => {
    const [f] = await lintExample("UPDATE users SET plan = 'pro' WHERE id = 42;\nALTER TABLE users RENAME COLUMN plan TO tier;\nCREATE INDEX ON users (tier);", missingDown);
    expect(f!.rewrite).toContain('(write the BY HAND lines yourself)');
    expect(f!.rewrite).toContain('-- BY HAND (line 3');
    expect(f!.rewrite).toContain('ALTER TABLE users RENAME COLUMN tier TO plan;');
    expect(f!.rewrite).toContain('-- BY HAND (line 1');
  });

  it('counts a down that does nothing as none, and is satisfied by a real one', async () => {
    // A blank down is a set problem (EMPTY_FILE) and is not read at all; this one is read and does nothing.
    const empty = await plan({ '1_a.up.sql': 'ALTER TABLE t ADD COLUMN a int;', '1_a.down.sql': '-- TODO\nBEGIN;\nCOMMIT;\n' }, [missingDown]);
    expect(empty.migrations[0]!.up!.findings[0]!.message).toContain('an empty down (1_a.down.sql)');
    const real = await plan({ '1_a.up.sql': 'ALTER TABLE t ADD COLUMN a int;', '1_a.down.sql': 'ALTER TABLE t DROP COLUMN a;' }, [missingDown]);
    expect(real.migrations[0]!.up!.findings).toEqual([]);
  });

  it('names the down file in the set\'s own naming', () => {
    expect(downFileName('0042_add_index.up.sql')).toBe('0042_add_index.down.sql');
    expect(downFileName('sub/0042_add_index_up.sql')).toBe('sub/0042_add_index_down.sql');
    expect(downFileName('V42__add_index.sql')).toBe('U42__add_index.sql');
  });
});

describe('data-loss-rollback', () => {
  it('names every object the down destroys, at the first one', async () => {
    const down = '-- down\nALTER TABLE users DROP COLUMN phone;\nDROP TABLE IF EXISTS audit_log, app.audit_archive;\nTRUNCATE sessions;';
    const findings = await lintExample(down, dataLossRollback);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.line).toBe(2);
    expect(findings[0]!.message).toContain('Data-loss rollback');
    expect(findings[0]!.message).toContain('column users.phone, table audit_log, table app.audit_archive, every row of sessions (TRUNCATE)');
  });

  it('accepts a down that copies the data out first, and ignores what the down itself created', async () => {
    expect(await lintExample('-- down\nCREATE TABLE audit_log_before_rollback AS TABLE audit_log;\nDROP TABLE audit_log;', dataLossRollback)).toEqual([]);
    expect(await lintExample("-- down\nCOPY users (id, phone) TO '/var/backups/users_phone.csv';\nALTER TABLE users DROP COLUMN phone;", dataLossRollback)).toEqual([]);
    expect(await lintExample('-- down\nCREATE TABLE tmp (a int);\nDROP TABLE tmp;', dataLossRollback)).toEqual([]);
    // A copy of other columns does not keep the dropped one.
    expect(await lintExample('-- down\nCREATE TABLE users_bk AS SELECT id, email FROM users;\nALTER TABLE users DROP COLUMN phone;', dataLossRollback)).toHaveLength(1);
  });

  it('can be silenced for the whole file with a reason', async () => {
    expect(await lintExample('-- down\n-- flightdeck:ignore-file data-loss-rollback reason: rollback after writes = point-in-time restore\nDROP TABLE audit_log;', dataLossRollback)).toEqual([]);
  });
});

describe('transaction-control-in-file', () => {
  it('reports each explicit block as information and broken control as errors', async () => {
    const ok = await lintExample('BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;', transactionControlInFile);
    expect(ok.map((f) => [f.severity, f.line])).toEqual([
      ['info', 1],
      ['info', 4],
    ]);
    const broken = await lintExample('CREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;', transactionControlInFile);
    expect(broken.map((f) => [f.severity, f.line])).toEqual([
      ['error', 2],
      ['info', 3],
      ['error', 4],
    ]);
  });
});

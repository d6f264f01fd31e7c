// The first batch of PostgreSQL rules on the cases their examples do not pin down: tables created
// earlier in the file, silences with a reason, line numbers, one finding per offending sub-command,
// severities, and the patterns each rule must recognise as already safe.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../shared/plan';
import { planSet } from '../../main/analysis/plan-set';
import { constraintWithoutNotValid } from '../../main/analysis/rules/constraint-without-not-valid';
import { dropTable } from '../../main/analysis/rules/drop-table';
import { enumChange } from '../../main/analysis/rules/enum-change';
import { notNullColumnWithoutDefault } from '../../main/analysis/rules/not-null-column-without-default';
import { notNullWithoutCheck } from '../../main/analysis/rules/not-null-without-check';
import { renameColumn } from '../../main/analysis/rules/rename-column';
import { renameTable } from '../../main/analysis/rules/rename-table';
import type { Rule } from '../../main/analysis/rules/rule';
import { typeChangeRewrite } from '../../main/analysis/rules/type-change-rewrite';
import { uniqueWithoutConcurrentIndex } from '../../main/analysis/rules/unique-without-concurrent-index';
import { volatileDefault } from '../../main/analysis/rules/volatile-default';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { lintExample } from '../support/lint-example';

const rules: Rule[] = [dropTable, renameColumn, renameTable, typeChangeRewrite, volatileDefault, notNullWithoutCheck, notNullColumnWithoutDefault, constraintWithoutNotValid, uniqueWithoutConcurrentIndex, enumChange];

beforeAll(async () => {
  const { loadPostgresParser } = await import('../../main/migrations/split-postgres');
  await loadPostgresParser();
});

/** Every finding (silenced ones included) of one migration's up, or of its down when given. */
async function plan(up: string, down?: string, use: Rule[] = rules): Promise<Finding[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-lint-a-'));
  try {
    await fs.writeFile(path.join(dir, '1_example.up.sql'), up);
    if (down !== undefined) await fs.writeFile(path.join(dir, '1_example.down.sql'), down);
    const report = await planSet(await readMigrationSet(dir), { engine: 'postgres', rules: use });
    const m = report.migrations[0]!;
    const file = down !== undefined ? m.down : m.up;
    if (!file || file.parseError) throw new Error(`the example did not plan: ${file?.parseError?.message}`);
    return file.findings;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const of = (findings: Finding[], rule: Rule) => findings.filter((f) => f.rule === rule.id);

describe('tables created earlier in the same file', () => {
  const created = 'CREATE TABLE widgets (id bigint PRIMARY KEY, owner_id bigint, size int);\n';

  it('do not trigger drop-table, the not-null rules or constraint-without-not-valid', async () => {
    const sql =
      created +
      'ALTER TABLE widgets ADD COLUMN sku text NOT NULL;\n' +
      'ALTER TABLE widgets ALTER COLUMN owner_id SET NOT NULL;\n' +
      'ALTER TABLE widgets ADD CONSTRAINT widgets_owner_fkey FOREIGN KEY (owner_id) REFERENCES owners (id), ADD CONSTRAINT widgets_size_check CHECK (size > 0);\n' +
      'DROP TABLE widgets;\n';
    const findings = await plan(sql);
    for (const rule of [dropTable, notNullColumnWithoutDefault, notNullWithoutCheck, constraintWithoutNotValid]) expect(of(findings, rule), rule.id).toEqual([]);
  });

  it('still count when the same statements run on an existing table', async () => {
    const sql =
      'ALTER TABLE widgets ADD COLUMN sku text NOT NULL;\n' +
      'ALTER TABLE widgets ALTER COLUMN owner_id SET NOT NULL;\n' +
      'ALTER TABLE widgets ADD CONSTRAINT widgets_owner_fkey FOREIGN KEY (owner_id) REFERENCES owners (id), ADD CONSTRAINT widgets_size_check CHECK (size > 0);\n' +
      'DROP TABLE widgets;\n';
    const findings = await plan(sql);
    expect(of(findings, notNullColumnWithoutDefault).map((f) => f.line)).toEqual([1]);
    expect(of(findings, notNullWithoutCheck).map((f) => f.line)).toEqual([2]);
    expect(of(findings, constraintWithoutNotValid).map((f) => f.line)).toEqual([3, 3]);
    expect(of(findings, dropTable).map((f) => f.line)).toEqual([4]);
  });

  it('a schema-qualified drop of public.t matches the t created earlier', async () => {
    expect(of(await plan('CREATE TABLE scratch (id int);\nDROP TABLE public.scratch;'), dropTable)).toEqual([]);
  });

  it('a referenced table created earlier does not spare the scan of an existing referencing table', async () => {
    const findings = await plan('CREATE TABLE owners (id bigint PRIMARY KEY);\nALTER TABLE widgets ADD CONSTRAINT widgets_owner_fkey FOREIGN KEY (owner_id) REFERENCES owners (id);');
    expect(of(findings, constraintWithoutNotValid)).toHaveLength(1);
  });
});

describe('silences', () => {
  it('a reasoned flightdeck:ignore silences the next statement, with its reason, and nothing else', async () => {
    const sql = 'ALTER TABLE orders DROP CONSTRAINT orders_legacy_fkey;\n-- flightdeck:ignore drop-table reason: archived in 2023\nDROP TABLE legacy_orders;\nDROP TABLE legacy_invoices;\n';
    const findings = of(await plan(sql, undefined, [dropTable]), dropTable);
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatchObject({ line: 3, severity: 'error', silenced: { reason: 'archived in 2023', line: 2 } });
    expect(findings[0]!.message).toContain('legacy_orders');
    expect(findings[1]).toMatchObject({ line: 4 });
    expect(findings[1]!.silenced).toBeUndefined();
  });

  it('a silence for another rule does not silence drop-table', async () => {
    const findings = await plan('-- flightdeck:ignore rename-table reason: not this one\nDROP TABLE legacy_orders;\n', undefined, [dropTable]);
    expect(findings.map((f) => f.silenced)).toEqual([undefined]);
  });
});

describe('line numbers', () => {
  it('each finding is on the line its statement starts on, after comments and blank lines', async () => {
    const sql = [
      '-- Release 42: tidy up orders.', // 1
      '', // 2
      'ALTER TABLE orders', // 3
      '  RENAME COLUMN total TO amount;', // 4
      '/* a block', // 5
      '   comment */', // 6
      'ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();', // 7
      '', // 8
      "ALTER TYPE order_status ADD VALUE 'held';", // 9
      'ALTER TABLE customers RENAME TO clients;', // 10
      'DROP TABLE coupons;', // 11
    ].join('\n');
    const findings = (await plan(sql)).filter((f) => !f.silenced);
    expect(findings.map((f) => [f.rule, f.line])).toEqual([
      ['rename-column', 3],
      ['volatile-default', 7],
      ['enum-change', 9],
      ['rename-table', 10],
      ['drop-table', 11],
    ]);
  });
});

describe('one finding per offending sub-command', () => {
  it('constraint-without-not-valid: each FK and CHECK, not the NOT VALID one', async () => {
    const sql =
      'ALTER TABLE orders\n  ADD CONSTRAINT orders_customer_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),\n  ADD CONSTRAINT orders_total_check CHECK (total >= 0),\n  ADD CONSTRAINT orders_coupon_fkey FOREIGN KEY (coupon_id) REFERENCES coupons (id) NOT VALID,\n  ADD COLUMN note text;';
    const findings = of(await plan(sql), constraintWithoutNotValid);
    expect(findings.map((f) => f.line)).toEqual([1, 1]);
    expect(findings[0]!.message).toContain('orders_customer_fkey');
    expect(findings[0]!.message).toContain('SHARE ROW EXCLUSIVE on orders and on customers');
    expect(findings[1]!.message).toContain('orders_total_check');
    expect(findings[1]!.rewrite).toContain('ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;');
  });

  it('type-change-rewrite, volatile-default, not-null-column-without-default and unique-without-concurrent-index', async () => {
    const findings = await plan(
      'ALTER TABLE users ALTER COLUMN id TYPE bigint, ALTER COLUMN org_id TYPE bigint, ALTER COLUMN name TYPE text,\n  ADD COLUMN a uuid DEFAULT gen_random_uuid(), ADD COLUMN b float8 DEFAULT random(), ADD COLUMN c int DEFAULT 0,\n  ADD COLUMN d int NOT NULL, ADD COLUMN e int NOT NULL, ADD COLUMN f int NOT NULL DEFAULT 1,\n  ADD CONSTRAINT users_email_key UNIQUE (email), ADD PRIMARY KEY (id), ADD CONSTRAINT users_ref_key UNIQUE USING INDEX users_ref_idx;',
    );
    expect(of(findings, typeChangeRewrite).map((f) => f.severity)).toEqual(['warning', 'warning', 'info']);
    expect(of(findings, volatileDefault).map((f) => f.message.split(' ')[1])).toEqual(['users.a', 'users.b']);
    expect(of(findings, notNullColumnWithoutDefault).map((f) => f.message.split(' ')[1])).toEqual(['users.d', 'users.e']);
    expect(of(findings, uniqueWithoutConcurrentIndex)).toHaveLength(2);
  });

  it('not-null-without-check: each SET NOT NULL without a proof, not the proven one', async () => {
    const sql =
      "BEGIN;\nALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL AND email <> '') NOT VALID;\nCOMMIT;\n" +
      'ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n' +
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL, ALTER COLUMN name SET NOT NULL, ALTER COLUMN org_id SET NOT NULL;';
    const findings = of(await plan(sql), notNullWithoutCheck);
    expect(findings.map((f) => f.message.split(' ')[4])).toEqual(['users.name', 'users.org_id']);
  });
});

describe('drop-table', () => {
  it('a down that drops the table its up created is the ordinary rollback', async () => {
    expect(of(await plan('CREATE TABLE feature_flags (id int);', 'DROP TABLE feature_flags;'), dropTable)).toEqual([]);
  });

  it('also when the up created it IF NOT EXISTS: the down is its inverse, and data-loss-rollback tells what the drop loses', async () => {
    expect(of(await plan('CREATE TABLE IF NOT EXISTS feature_flags (id int);', 'DROP TABLE feature_flags;'), dropTable)).toHaveLength(0);
  });

  it('one finding per table of a DROP TABLE list', async () => {
    const findings = of(await plan('CREATE TABLE tmp_ids (id int);\nDROP TABLE tmp_ids, legacy_a, archive.legacy_b CASCADE;'), dropTable);
    expect(findings.map((f) => f.message.split(' ')[2])).toEqual(['legacy_a', 'archive.legacy_b']);
    expect(findings[0]!.message).toContain('CASCADE');
  });
});

describe('type-change-rewrite', () => {
  it('TYPE text and TYPE varchar are info, to verify with the lock trace', async () => {
    for (const t of ['text', 'varchar', 'character varying']) {
      const [f, ...rest] = await lintExample(`ALTER TABLE users ALTER COLUMN bio TYPE ${t};`, typeChangeRewrite);
      expect(rest).toEqual([]);
      expect(f!.severity, t).toBe('info');
      expect(f!.message).toContain('verify with the lock trace');
    }
  });

  it('TYPE text with a USING that computes is a certain rewrite: warning', async () => {
    const [f] = await lintExample('ALTER TABLE users ALTER COLUMN bio TYPE text USING lower(bio);', typeChangeRewrite);
    expect(f!.severity).toBe('warning');
    expect(f!.rewrite).toContain('NEW.bio_new := lower(NEW.bio);');
  });

  it('TYPE text with a USING that only casts stays info', async () => {
    const [f] = await lintExample('ALTER TABLE users ALTER COLUMN bio TYPE text USING bio::text;', typeChangeRewrite);
    expect(f!.severity).toBe('info');
  });

  it('varchar(n) is a warning that mentions the widening exception', async () => {
    const [f] = await lintExample('ALTER TABLE users ALTER COLUMN email TYPE character varying(320);', typeChangeRewrite);
    expect(f!.severity).toBe('warning');
    expect(f!.message).toContain('varchar(m) with m ≤ 320');
  });
});

describe('volatile-default', () => {
  it('stable and constant defaults are fine; SET DEFAULT on an existing column is fine', async () => {
    for (const sql of [
      'ALTER TABLE t ADD COLUMN a timestamptz DEFAULT now();',
      'ALTER TABLE t ADD COLUMN a timestamptz DEFAULT CURRENT_TIMESTAMP;',
      "ALTER TABLE t ADD COLUMN a jsonb DEFAULT '{}'::jsonb;",
      'ALTER TABLE t ALTER COLUMN a SET DEFAULT gen_random_uuid();',
    ])
      expect(await lintExample(sql, volatileDefault), sql).toEqual([]);
  });

  it('finds the volatile call inside an expression and keeps the default as written in the rewrite', async () => {
    const [f] = await lintExample("ALTER TABLE t ADD COLUMN code text DEFAULT md5(random()::text) NOT NULL;", volatileDefault);
    expect(f!.message).toContain('random() is volatile');
    expect(f!.rewrite).toContain('ALTER TABLE t ALTER COLUMN code SET DEFAULT md5(random()::text);');
    expect(f!.rewrite).toContain('CHECK (code IS NOT NULL) NOT VALID');
  });
});

describe('not-null-without-check', () => {
  it('a CHECK validated earlier in the file (separate transactions) proves the column', async () => {
    const sql = 'BEGIN;\nALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\nCOMMIT;\nBEGIN;\nALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nCOMMIT;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_nn;';
    const findings = await plan(sql);
    expect(of(findings, notNullWithoutCheck)).toEqual([]);
    expect(of(findings, constraintWithoutNotValid)).toEqual([]);
  });

  it('a CHECK on another table, or on another column, proves nothing', async () => {
    const sql = 'ALTER TABLE accounts ADD CONSTRAINT accounts_email_nn CHECK (email IS NOT NULL);\nALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;';
    expect(of(await plan(sql), notNullWithoutCheck).map((f) => f.line)).toEqual([3]);
  });

  it('a CHECK dropped before the SET NOT NULL proves nothing', async () => {
    const sql = 'ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL);\nALTER TABLE users DROP CONSTRAINT c;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;';
    expect(of(await plan(sql), notNullWithoutCheck)).toHaveLength(1);
  });
});

describe('constraint-without-not-valid', () => {
  it('VALIDATE in the same ALTER TABLE as the ADD … NOT VALID is flagged', async () => {
    const findings = of(await plan('ALTER TABLE payments ADD CONSTRAINT p_amount CHECK (amount > 0) NOT VALID, VALIDATE CONSTRAINT p_amount;'), constraintWithoutNotValid);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('ACCESS EXCLUSIVE on payments');
  });

  it('a column-level foreign key on a new column without a default is not flagged (nothing to check), with a default it is', async () => {
    expect(await lintExample('ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);', constraintWithoutNotValid)).toEqual([]);
    const [f] = await lintExample('ALTER TABLE orders ADD COLUMN region_id int NOT NULL DEFAULT 1 REFERENCES regions (id) ON DELETE RESTRICT;', constraintWithoutNotValid);
    expect(f!.rewrite).toContain('1) ALTER TABLE orders ADD COLUMN region_id int NOT NULL DEFAULT 1;');
    expect(f!.rewrite).toContain('ADD CONSTRAINT orders_region_id_fkey FOREIGN KEY (region_id) REFERENCES regions (id) ON DELETE RESTRICT NOT VALID');
    expect(f!.rewrite).toContain('VALIDATE CONSTRAINT orders_region_id_fkey;');
  });

  it('an unnamed CHECK gets the name PostgreSQL would give it, for the VALIDATE', async () => {
    const [f] = await lintExample('ALTER TABLE payments ADD CHECK (amount > 0); -- keep amounts positive', constraintWithoutNotValid);
    expect(f!.rewrite).toContain('ADD CONSTRAINT payments_amount_check CHECK (amount > 0) NOT VALID;');
    expect(f!.rewrite).toContain('VALIDATE CONSTRAINT payments_amount_check;');
  });
});

describe('rename-table', () => {
  it('a swap (old name taken by the rebuilt table in the same file) breaks nothing', async () => {
    expect(await lintExample('ALTER TABLE events RENAME TO events_old;\nALTER TABLE events_rebuilt RENAME TO events;', renameTable)).toEqual([]);
  });
});

describe('enum-change', () => {
  it('RENAME VALUE is an error, ADD VALUE a warning', async () => {
    const findings = await lintExample("ALTER TYPE mood ADD VALUE 'meh';\nALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", enumChange);
    expect(findings.map((f) => f.severity)).toEqual(['warning', 'error']);
  });

  it('a type created earlier in the file is new: neither is flagged', async () => {
    expect(await lintExample("CREATE TYPE public.mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'meh';\nALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", enumChange)).toEqual([]);
  });
});

describe('unique-without-concurrent-index', () => {
  it('USING INDEX is the safe form', async () => {
    expect(await lintExample('ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;', uniqueWithoutConcurrentIndex)).toEqual([]);
  });
});

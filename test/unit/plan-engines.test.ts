// The plan for MySQL/MariaDB and MongoDB sets, on the repository's fixture sets: every statement
// analysed or listed as not parsed with the reason, and the findings the fixtures are known to hold.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSet } from '../../main/analysis/plan-set';
import { recommendStrategy } from '../../main/analysis/strategy';
import { readMigrationSet } from '../../main/migrations/migration-set';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/migrations');

describe('plan of the MariaDB fixture set', () => {
  it('analyses every statement or says why not, and flags the table copies', async () => {
    const report = await planSet(await readMigrationSet(path.join(fixtures, 'mariadb-shop')), { engine: 'mysql' });
    const statements = report.migrations.flatMap((m) => [...(m.up?.statements ?? []), ...(m.down?.statements ?? [])]);
    expect(statements.length).toBeGreaterThan(60);
    for (const s of statements.filter((x) => x.unparsed)) expect(s.unparsed).toMatch(/^(a stored (procedure|function|trigger)|node-sql-parser's MySQL grammar does not cover it)/);
    expect(statements.filter((s) => s.unparsed && /^a stored/.test(s.unparsed)).length).toBeGreaterThanOrEqual(3);
    const copies = report.migrations.flatMap((m) => m.up?.findings ?? []).filter((f) => f.rule === 'mysql-copy-algorithm' && !f.silenced);
    expect(copies.map((f) => f.file)).toContain('V17__widen_products_price_cents.sql');
    const v6 = report.migrations.find((m) => m.version === 6)!.up!.statements[0]!;
    expect(v6.online).toMatchObject({ algorithm: 'INSTANT', lock: 'NONE' });
    expect(recommendStrategy(report, 'medium', 'zero-downtime').strategy).toBe('expand-contract');
  });
});

describe('plan of a MySQL set', () => {
  it('flags drops and renames on existing tables, a copy, and a data-loss rollback, each at its line', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-mysql-plan-'));
    await fs.writeFile(path.join(dir, 'V1__changes.sql'), 'ALTER TABLE users DROP COLUMN legacy_flag;\nALTER TABLE users RENAME COLUMN name TO full_name;\nRENAME TABLE carts TO baskets;\nDROP TABLE old_sessions;\nALTER TABLE orders MODIFY COLUMN total DECIMAL(14,2);\nCREATE TABLE t (id INT PRIMARY KEY);\nALTER TABLE t DROP COLUMN id;\n');
    await fs.writeFile(path.join(dir, 'U1__changes.sql'), 'ALTER TABLE users DROP COLUMN note;\n');
    try {
      const report = await planSet(await readMigrationSet(dir), { engine: 'mysql' });
      const up = report.migrations[0]!.up!.findings.map((f) => `${f.rule}:${f.line}`);
      expect(up).toEqual(['drop-column:1', 'rename-column:2', 'rename-table:3', 'drop-table:4', 'mysql-copy-algorithm:5']);
      expect(report.migrations[0]!.down!.findings.map((f) => `${f.rule}:${f.line}`)).toEqual(['data-loss-rollback:1']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('plan of the migrate-mongo fixture set', () => {
  it('reads the up and down functions from the syntax tree and flags the rename, the validator and the unfiltered update', async () => {
    const report = await planSet(await readMigrationSet(path.join(fixtures, 'mongo-shop')), { engine: 'mongodb' });
    expect(report.counts.unparsed).toBe(0);
    const all = report.migrations.flatMap((m) => m.up!.statements);
    expect(all.map((s) => s.command)).toEqual(expect.arrayContaining(['db.createCollection()', 'createIndex()', 'updateMany()', 'db.renameCollection()', 'dropIndex()', 'db.command({collMod})', 'collection.drop()']));
    const rules = report.migrations.flatMap((m) => m.up!.findings).map((f) => `${f.rule} ${f.file}:${f.line}`);
    expect(rules).toEqual(expect.arrayContaining([
      'mongo-drop-collection 20240120101500-rename-orders-to-purchases.mjs:4',
      'mongo-validator-change 20240215120000-customers-loyalty-tier.js:12',
      'mongo-unfiltered-bulk-write 20240215120000-customers-loyalty-tier.js:17',
    ]));
    // Drops in down functions are the inverse of a create: not flagged.
    expect(rules.filter((r) => r.startsWith('mongo-drop-collection 20240105'))).toEqual([]);
  });

  it('reports a file that does not parse with its line, and one without a down function', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-mongo-plan-'));
    await fs.writeFile(path.join(dir, '20240101000000-broken.js'), "module.exports = {\n  async up(db) {\n    await db.collection('a').drop(;\n  },\n};\n");
    await fs.writeFile(path.join(dir, '20240102000000-no-down.js'), "module.exports = { async up(db) { await db.collection('a').createIndex({ x: 1 }); } };\n");
    try {
      const report = await planSet(await readMigrationSet(dir), { engine: 'mongodb' });
      expect(report.migrations[0]!.up!.parseError).toMatchObject({ line: 3 });
      expect(report.migrations[1]!.up!.findings.map((f) => f.rule)).toEqual(['missing-down']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

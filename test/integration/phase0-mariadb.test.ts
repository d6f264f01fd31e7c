// Phase 0 on real MariaDB: all is well (with mariadb-dump's backup read back, the server's parser
// checking every statement, and the dry run honestly skipped because MySQL commits DDL), then the
// checks that differ from PostgreSQL's fail for their real cause.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { CheckResult } from '../../shared/checks';
import type { OpenConnection } from '../../main/connections/connect';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { runMigrations } from '../../main/migrations/runner';
import { defaultPhase0Settings, type Phase0Context, type Phase0Settings } from '../../main/phases/phase0/context';
import { runPhase0 } from '../../main/phases/phase0/run-phase0';
import { closeOpened, mariadbTestDb, writeSet, type TestDb } from '../support/migration-dbs';
import { describeWith } from '../support/servers';

const work = path.join(os.tmpdir(), `fd-phase0-my-${process.pid}`);

describeWith('mariadb', 'Phase 0 on MariaDB', (server) => {
  let prod: TestDb;
  let staging: TestDb;
  let setDir: string;
  const conns: OpenConnection[] = [];

  beforeAll(async () => {
    await fs.mkdir(work, { recursive: true });
    prod = await mariadbTestDb(server, 'fdp0myprod');
    staging = await mariadbTestDb(server, 'fdp0mystag');
    setDir = await writeSet({
      'V1__customers.sql': 'CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL) ENGINE=InnoDB;\nINSERT INTO customers VALUES (1, \'a@example.com\'), (2, \'b@example.com\');\n',
      'U1__customers.sql': 'DROP TABLE customers;\n',
      'V2__orders.sql': 'CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB;\nALTER TABLE customers ADD COLUMN phone VARCHAR(40), ALGORITHM=INSTANT;\n',
      'U2__orders.sql': 'ALTER TABLE customers DROP COLUMN phone;\nDROP TABLE orders;\n',
    });
    for (const d of [prod, staging]) {
      const c = await d.open({ lockTimeoutMs: 1000 });
      await runMigrations(c, await readMigrationSet(setDir), { kind: 'up', steps: 1 }, { journalDir: path.join(work, 'journal'), lockTimeoutMs: 1000 });
      await c.close();
    }
  });
  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await closeOpened();
  });
  afterAll(async () => {
    await prod?.drop();
    await staging?.drop();
    await fs.rm(work, { recursive: true, force: true });
  });

  async function context(over: Partial<Phase0Settings> = {}, dir = setDir): Promise<Phase0Context> {
    const production = await prod.open({ poolSize: 3, lockTimeoutMs: 1000 });
    const stag = await staging.open({ poolSize: 3, lockTimeoutMs: 1000 });
    conns.push(production, stag);
    const now = new Date().toISOString();
    return {
      production,
      productionPassword: prod.password,
      staging: stag,
      set: await readMigrationSet(dir),
      settings: {
        ...defaultPhase0Settings,
        dumpDir: path.join(work, 'dumps'),
        baselineDir: path.join(work, 'baselines'),
        longRunningMs: 1000,
        attestations: { 'attest-dba': { by: 'Dana DBA', at: now }, 'attest-dashboards': { by: 'Dana DBA', at: now } },
        // No Flyway on this machine: the set is run by Flightdeck, a medium risk accepted in writing.
        accepted: {
          'migration-tools': { by: 'Dana DBA', at: now, reason: 'Flightdeck runs and rolls back this set; Flyway is not used in this window.' },
          'performance-baseline': { by: 'Dana DBA', at: now, reason: 'Query times are compared from the APM for this window.' },
        },
        ...over,
      },
    };
  }
  const byId = (checks: CheckResult[], id: string) => checks.find((c) => c.id === id)!;

  it('passes when all is well: a mariadb-dump backup read back, every statement parsed by the server', { timeout: 60_000 }, async () => {
    const report = await runPhase0(await context());
    const notPassing = report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.status}${c.accepted ? ' (accepted)' : ''}`);
    // The test user may not read performance_schema: no statement baseline, accepted in writing.
    expect(notPassing).toEqual(['migration-tools: fail (accepted)', 'pgbouncer-pools: skipped', 'staging-dry-run: skipped', 'performance-baseline: fail (accepted)', 'backup-age: skipped']);
    expect(byId(report.checks, 'performance-baseline').summary).toContain('GRANT SELECT ON performance_schema.* to the user');
    expect(report.gate.verdict).toBe('pass-with-accepted-risks');
    expect(byId(report.checks, 'migration-tools').summary).toContain('Flyway format and flyway is not installed');
    const dump = byId(report.checks, 'backup-dump');
    expect(dump.evidence.facts.find(([k]) => k === 'read back')![1]).toMatch(/^complete SQL dump with [1-9]\d* CREATE TABLE statements$/);
    const text = await fs.readFile(dump.evidence.files[0]!, 'utf8');
    expect(text).toContain('CREATE TABLE `customers`');
    expect(text).toMatch(/INSERT INTO `customers` VALUES\s*\(1,'a@example\.com'\),\s*\(2,'b@example\.com'\)/);
    expect(byId(report.checks, 'staging-dry-run').summary).toMatch(/^MySQL commits DDL implicitly/);
    expect(byId(report.checks, 'migration-syntax').evidence.facts[0]![1]).toContain("server's own, through PREPARE");
  });

  it('fails for the real cause: a syntax error the server finds, a column that differs, a long transaction', { timeout: 60_000 }, async () => {
    const dir = await writeSet({
      'V1__customers.sql': 'CREATE TABLE customers (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL) ENGINE=InnoDB;\n',
      'U1__customers.sql': 'DROP TABLE customers;\n',
      'V2__bad.sql': 'ALTER TABLE customers\n  ADD COLUMN phone VARCHAR(40) DEFAULT;\n',
      'U2__bad.sql': 'ALTER TABLE customers DROP COLUMN phone;\n',
    });
    const syntax = await runPhase0(await context({}, dir), { only: ['migration-syntax'] });
    const s = byId(syntax.checks, 'migration-syntax');
    expect(s.status).toBe('fail');
    expect(s.evidence.tables[0]!.rows[0]!.slice(0, 2)).toEqual(['V2__bad.sql', '2']);

    await staging.query('ALTER TABLE customers MODIFY email VARCHAR(100) NOT NULL');
    const holder = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, database: prod.name });
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT * FROM customers FOR UPDATE');
      await new Promise((r) => setTimeout(r, 2100));
      const report = await runPhase0(await context(), { only: ['staging-schema', 'lock-analysis'] });
      const schema = byId(report.checks, 'staging-schema');
      expect(schema.status).toBe('fail');
      expect(schema.evidence.text).toContain('~ column customers.email:');
      expect(schema.evidence.text).toContain('staging: #2 varchar(100) not null');
      const locks = byId(report.checks, 'lock-analysis');
      expect(locks.status).toBe('fail');
      expect(locks.evidence.tables[0]!.rows[0]![3]).toBe('in transaction');
      expect(report.gate.verdict).toBe('fix-first');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await staging.query('ALTER TABLE customers MODIFY email VARCHAR(200) NOT NULL');
    }
  });
});

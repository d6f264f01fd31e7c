// Phase 0 on real PostgreSQL: it passes when all is well, and each check fails for its real cause:
// the dump tool cannot be found, a down file is missing, a column differs on staging, the pool is
// full, a transaction holds a lock past the threshold, a pending migration fails on staging, the
// newest backup is too old.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { CheckResult } from '../../shared/checks';
import { connectProfile, type OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { runMigrations } from '../../main/migrations/runner';
import { defaultPhase0Settings, type Phase0Context, type Phase0Settings } from '../../main/phases/phase0/context';
import { runPhase0 } from '../../main/phases/phase0/run-phase0';
import { PostgresCluster, findPostgresBinaries } from '../../main/servers/postgres-cluster';
import { freeLoopbackPort } from '../../main/servers/postgres-cluster';
import { closeOpened, postgresTestDb, writeSet, type TestDb } from '../support/migration-dbs';
import { describeWith } from '../support/servers';

const work = path.join(os.tmpdir(), `fd-phase0-${process.pid}`);

const files = {
  '1_customers_up.sql': 'create table customers (id bigint primary key, email text not null);\ninsert into customers select g, \'c\' || g || \'@example.com\' from generate_series(1, 500) g;\n',
  '1_customers_down.sql': 'drop table customers;\n',
  '2_orders_up.sql': 'create table orders (id bigint primary key, customer_id bigint not null references customers (id), total numeric(10,2));\ncreate index concurrently orders_customer on orders (customer_id);\n',
  '2_orders_down.sql': 'drop table orders;\n',
};

describeWith('postgres', 'Phase 0 on PostgreSQL', (server) => {
  let prod: TestDb;
  let staging: TestDb;
  let setDir: string;
  const conns: OpenConnection[] = [];

  beforeAll(async () => {
    await fs.mkdir(work, { recursive: true });
    prod = await postgresTestDb(server, 'fdp0prod');
    staging = await postgresTestDb(server, 'fdp0stag');
    for (const d of [prod, staging]) {
      const admin = new pg.Client({ host: server.host, port: server.port, user: server.superuser, password: server.superuserPassword, database: d.name });
      await admin.connect();
      await admin.query('create extension if not exists pg_stat_statements');
      await admin.end();
    }
    setDir = await writeSet(files);
    // Both databases are at version 1; version 2 is pending.
    for (const d of [prod, staging]) {
      const c = await d.open();
      await runMigrations(c, await readMigrationSet(setDir), { kind: 'up', steps: 1 }, { journalDir: path.join(work, 'journal'), lockTimeoutMs: 200 });
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

  async function context(over: Partial<Phase0Settings> = {}, opts: { dir?: string; production?: OpenConnection } = {}): Promise<Phase0Context> {
    const production = opts.production ?? (await prod.open({ poolSize: 3 }));
    const stag = await staging.open({ poolSize: 3 });
    conns.push(production, stag);
    const backupDir = path.join(work, 'regular-backups');
    await fs.mkdir(backupDir, { recursive: true });
    await fs.writeFile(path.join(backupDir, 'nightly.dump'), 'a backup');
    const settings: Phase0Settings = {
      ...defaultPhase0Settings,
      backupDir,
      dumpDir: path.join(work, 'dumps'),
      baselineDir: path.join(work, 'baselines'),
      longRunningMs: 1000,
      attestations: { 'attest-dba': { by: 'Dana DBA', at: new Date().toISOString() }, 'attest-dashboards': { by: 'Dana DBA', at: new Date().toISOString() } },
      accepted: {},
      ...over,
    };
    return { production, productionPassword: prod.password, staging: stag, set: await readMigrationSet(opts.dir ?? setDir), settings };
  }
  const byId = (checks: CheckResult[], id: string) => checks.find((c) => c.id === id)!;

  it('passes when all is well, with evidence for every check', { timeout: 60_000 }, async () => {
    const report = await runPhase0(await context());
    const summary = report.checks.map((c) => `${c.id}: ${c.status} ${c.status === 'pass' ? '' : c.summary}`);
    // No pooler is configured here (test/integration/phase0-pgbouncer.test.ts covers one).
    expect(summary.filter((s) => !/: pass /.test(s))).toEqual(['pgbouncer-pools: skipped No PgBouncer admin console was given, so pooler queues were not checked.']);
    expect(report.gate).toMatchObject({ verdict: 'pass', mayProceed: true });
    const dump = byId(report.checks, 'backup-dump');
    const file = dump.evidence.files[0]!;
    expect((await fs.stat(file)).size).toBeGreaterThan(1000);
    expect(dump.evidence.facts.find(([k]) => k === 'read back')![1]).toMatch(/read the archive: \d+ entries \([1-9]\d* with table data\)/);
    expect(dump.evidence.facts.find(([k]) => k === 'sha256')![1]).toMatch(/^[0-9a-f]{64}$/);
    const baseline = byId(report.checks, 'performance-baseline');
    const saved = JSON.parse(await fs.readFile(baseline.evidence.files[0]!, 'utf8'));
    expect(saved.tables.map((t: { name: string }) => t.name)).toContain('public.customers');
    expect(Array.isArray(saved.statements)).toBe(true);
    const dry = byId(report.checks, 'staging-dry-run');
    expect(dry.summary).toContain('1 pending migration(s) ran up and back down');
    expect(dry.evidence.tables[1]!.rows[0]).toEqual(['2_orders_up.sql', '2', 'create index concurrently orders_customer on orders (customer_id)', 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block']);
    // The dry run left staging as it was.
    expect(await staging.query("select 1 from pg_class where relname = 'orders'")).toEqual([]);
  });

  it('stops the window when the dump tool cannot be found', async () => {
    const empty = await fs.mkdtemp(path.join(work, 'no-tools-'));
    const report = await runPhase0(await context({ tools: { dirs: [empty] } }), { only: ['backup-dump'] });
    const c = byId(report.checks, 'backup-dump');
    expect(c).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(c.summary).toContain(`pg_dump was not found in ${empty}`);
    expect(report.gate.verdict).toBe('stop');
  });

  it('stops the window when a down file is missing', async () => {
    const { '2_orders_down.sql': _dropped, ...rest } = files;
    const dir = await writeSet(rest);
    const report = await runPhase0(await context({}, { dir }), { only: ['rollback-scripts'] });
    expect(byId(report.checks, 'rollback-scripts')).toMatchObject({ status: 'fail', summary: '1 migration(s) have no down script: 2_orders_up.sql.' });
    expect(report.gate.verdict).toBe('stop');
  });

  it('asks for a fix when a column differs on staging, naming the column', async () => {
    await staging.query('alter table customers alter column email type varchar(200)');
    try {
      const report = await runPhase0(await context(), { only: ['staging-schema'] });
      const c = byId(report.checks, 'staging-schema');
      expect(c.status).toBe('fail');
      expect(c.evidence.text).toContain('~ column public.customers.email:');
      expect(c.evidence.text).toContain('production: #2 text not null');
      expect(c.evidence.text).toContain('staging: #2 character varying(200) not null');
      expect(report.gate.verdict).toBe('fix-first');
    } finally {
      await staging.query('alter table customers alter column email type text');
    }
  });

  it('blocks on a transaction holding a lock past the threshold, naming the session and the lock', async () => {
    const holder = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: prod.name, application_name: 'fd-test/holder' });
    await holder.connect();
    const pid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await holder.query('begin');
    await holder.query('lock table customers in share mode');
    await new Promise((r) => setTimeout(r, 1300));
    try {
      const report = await runPhase0(await context({ longRunningMs: 1000 }), { only: ['lock-analysis'] });
      const c = byId(report.checks, 'lock-analysis');
      expect(c.status).toBe('fail');
      expect(c.evidence.tables[0]!.rows.map((r) => r[0])).toEqual([String(pid)]);
      expect(c.evidence.tables[1]!.rows).toContainEqual([String(pid), 'customers', 'ShareLock', 'held']);
      expect(report.gate.verdict).toBe('fix-first');
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  });

  it('asks for a fix when a pending migration fails on staging, with file and line, and leaves staging unchanged', async () => {
    const dir = await writeSet({ ...files, '3_bad_up.sql': 'alter table orders add column note text;\nupdate customers set missing_column = 1;\n', '3_bad_down.sql': 'alter table orders drop column note;\n' });
    const report = await runPhase0(await context({}, { dir }), { only: ['staging-dry-run'] });
    const c = byId(report.checks, 'staging-dry-run');
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/^up 3_bad_up\.sql:2 fails on staging: column "missing_column" of relation "customers" does not exist/);
    expect(await staging.query("select 1 from pg_class where relname = 'orders'")).toEqual([]);
  });

  it('stops the window when the newest regular backup is older than 24 hours', async () => {
    const dir = await fs.mkdtemp(path.join(work, 'old-backups-'));
    const file = path.join(dir, 'nightly.dump');
    await fs.writeFile(file, 'old');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    await fs.utimes(file, twoDaysAgo, twoDaysAgo);
    const report = await runPhase0(await context({ backupDir: dir }), { only: ['backup-age'] });
    expect(byId(report.checks, 'backup-age').summary).toMatch(/^The newest backup is 48\.0 h old, over the 24 h limit\./);
    expect(report.gate.verdict).toBe('stop');
  });

  it('leaves the gate to a person: pending attestations block the window', async () => {
    const report = await runPhase0(await context({ attestations: {} }), { only: ['attest-dba', 'attest-dashboards'] });
    expect(report.checks.filter((c) => c.id.startsWith('attest-')).map((c) => c.status)).toEqual(['pending', 'pending']);
    expect(report.gate.verdict).toBe('fix-first');
  });

  it('fails the pool headroom check when the server is nearly full', { timeout: 60_000 }, async () => {
    // A small server of its own, so filling it disturbs no other test.
    const binaries = findPostgresBinaries();
    const superuserPassword = randomBytes(12).toString('hex');
    const cluster = new PostgresCluster({ dataDir: path.join(work, 'small-pg'), port: await freeLoopbackPort(), superuserPassword, binaries, name: 'fd-test-small', noSync: true, settings: { max_connections: 20, superuser_reserved_connections: 3 } });
    await cluster.init();
    await cluster.start();
    const clients: pg.Client[] = [];
    try {
      const profile = { id: 'small', name: 'small', engine: 'postgres' as const, environment: 'production' as const, host: '127.0.0.1', port: cluster.port, database: 'postgres', user: 'postgres', tls: { mode: 'disable' as const }, connectTimeoutMs: 5000 };
      const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: path.join(work, 'known_hosts') });
      const production = await connectProfile(profile, { dbPassword: superuserPassword }, { hostKeys, poolSize: 1 });
      conns.push(production);
      const before = await runPhase0(await context({}, { production }), { only: ['pool-headroom'] });
      expect(byId(before.checks, 'pool-headroom').status).toBe('pass');
      for (let i = 0; i < 14; i++) {
        const c = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', password: superuserPassword, database: 'postgres', application_name: 'fd-test/filler' });
        await c.connect();
        clients.push(c);
      }
      const after = await runPhase0(await context({}, { production }), { only: ['pool-headroom'] });
      const c = byId(after.checks, 'pool-headroom');
      expect(c.status).toBe('fail');
      expect(c.summary).toMatch(/^Only [0-2] of 17 connections are free \(1[5-7] in use\); the window needs at least 4 free\.$/);
      expect(c.evidence.tables[0]!.rows[0]!.slice(0, 3)).toEqual(['fd-test/filler', 'postgres', '14']);
      expect(after.gate.verdict).toBe('fix-first');
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await Promise.all(conns.splice(0).map((c) => c.close()));
      await cluster.stop('immediate');
    }
  });
});

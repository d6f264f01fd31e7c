// `flightdeck migrate` and `flightdeck check` as pipelines run them: the built CLI in a child
// process, exit codes 0 / 1 / 2, the --json envelope, and nothing applied on bad input.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTestDb, writeSet, type TestDb } from '../support/migration-dbs';
import { describeWith } from '../support/servers';

const run = promisify(execFile);
const cli = path.resolve('bin/flightdeck.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-cli-data-'));

async function flightdeck(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, FLIGHTDECK_DATA_DIR: dataDir, SSH_AUTH_SOCK: '', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(() => {
  if (!fs.existsSync('dist/main/cli.js')) throw new Error('dist/main/cli.js is missing: run `npm run build` before the tests (npm test does).');
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('flightdeck migrate with an unreadable folder', () => {
  it('exits 2 naming the folder and the permission to give, before connecting anywhere', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-unreadable-'));
    const set = path.join(dir, 'migrations');
    fs.mkdirSync(set);
    fs.writeFileSync(path.join(set, '1_a.up.sql'), 'select 1;\n');
    fs.chmodSync(set, 0o000);
    fs.chmodSync(dir, 0o755);
    try {
      // Root reads through any mode bits, so as root the CLI runs as nobody (as a DBA's own account would).
      const asRoot = process.getuid?.() === 0;
      const args = [cli, 'migrate', 'status', 'postgres://app@127.0.0.1:1/db', '--migrations', set, '--json'];
      const r = await run(asRoot ? 'runuser' : process.execPath, asRoot ? ['-u', 'nobody', '--', process.execPath, ...args] : args, { env: { PATH: process.env.PATH ?? '', FLIGHTDECK_DATA_DIR: dataDir } }).then(
        (ok) => ({ code: 0, stdout: ok.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'MIGRATION_SET_INVALID', message: `Flightdeck may not read the migrations folder ${set} (EACCES).`, hint: 'Give the user running Flightdeck read permission on the folder (chmod u+rx).' });
    } finally {
      fs.chmodSync(set, 0o755);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('flightdeck plan', () => {
  it('writes its whole report into a pipe (more than the 64 KiB a pipe buffers) and exits 1 on error findings', async () => {
    const r = await flightdeck(['plan', '--migrations', path.resolve('test/fixtures/migrations/postgres-shop'), '--json']);
    expect(r.stdout.length).toBeGreaterThan(65_536);
    const report = JSON.parse(r.stdout).result;
    expect(report.migrations).toHaveLength(34);
    expect(r.code).toBe(report.counts.error > 0 ? 1 : 0);
  });
});

describeWith('postgres', 'flightdeck migrate and check against PostgreSQL', (s) => {
  let prod: TestDb;
  let staging: TestDb;
  const extra: TestDb[] = [];
  const url = (d: TestDb) => `postgres://${s.user}@${s.host}:${s.port}/${d.name}?sslmode=disable`;
  const env = () => ({ PGPASSWORD: s.password, FLIGHTDECK_STAGING_DB_PASSWORD: s.password });

  beforeAll(async () => {
    prod = await postgresTestDb(s, 'fdcliprod');
    staging = await postgresTestDb(s, 'fdclistag');
  });
  afterAll(async () => {
    await prod?.drop();
    await staging?.drop();
    await Promise.all(extra.map((d) => d.drop()));
  });

  it('migrate: up, status and down with stable JSON; exit 2 and nothing applied for a bad set', async () => {
    const dir = await writeSet({ '1_a.up.sql': 'create table a (id int);\n', '1_a.down.sql': 'drop table a;\n', '2_b.up.sql': 'create table b (id int);\n', '2_b.down.sql': 'drop table b;\n' });
    const up = await flightdeck(['migrate', 'up', url(prod), '--migrations', dir, '--json'], env());
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ ok: true, result: { fromVersion: null, toVersion: 2, steps: [{ version: 1, direction: 'up' }, { version: 2, direction: 'up' }] } });
    const status = await flightdeck(['migrate', 'status', url(prod), '--migrations', dir], env());
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^version\s+2$/m);
    const down = await flightdeck(['migrate', 'down', url(prod), '--migrations', dir], env());
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/reverted\s+2 b/);

    const bad = await writeSet({ '1_a.up.sql': 'create table a (id int);\n', '01_again.up.sql': 'create table c (id int);\n', '2_b.up.sql': Buffer.from('create table b (id int);\n-- caf\xe9\n', 'latin1') });
    const refused = await flightdeck(['migrate', 'up', url(staging), '--migrations', bad, '--json'], env());
    expect(refused.code).toBe(2);
    const err = JSON.parse(refused.stdout).error;
    expect(err.code).toBe('MIGRATION_SET_INVALID');
    expect(err.message).toContain('Version 1 has two up files: 01_again.up.sql and 1_a.up.sql.');
    expect(err.message).toContain('2_b.up.sql:2: 2_b.up.sql is not UTF-8: line 2');
    expect(await staging.query("select 1 from pg_class where relname in ('a', 'b', 'c', 'schema_migrations')")).toEqual([]);

    const usage = await flightdeck(['migrate', 'sideways', url(prod), '--migrations', dir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error INVALID_INPUT: migrate needs an action/);
  });

  it('check: exit 1 with the blocking checks when the gate blocks, 0 when it passes', { timeout: 120_000 }, async () => {
    const dir = await writeSet({ '1_a_up.sql': 'create table a (id int primary key);\n', '1_a_down.sql': 'drop table a;\n' });
    // Databases of their own, with the same (empty) schema.
    const p = await postgresTestDb(s, 'fdcliprod');
    const st = await postgresTestDb(s, 'fdclistag');
    extra.push(p, st);
    const common = ['check', '--production', url(p), '--staging', url(st), '--migrations', dir, '--json'];
    const blocked = await flightdeck(common, env());
    expect(blocked.code).toBe(1);
    const report = JSON.parse(blocked.stdout).result;
    expect(report.gate.verdict).toBe('fix-first');
    expect(report.gate.blocking).toEqual(expect.arrayContaining(['attest-dba', 'attest-dashboards']));

    // These databases have no pg_stat_statements: a medium failure, accepted with a reason.
    const reason = 'performance-baseline=query times are compared from the APM this time';
    const passed = await flightdeck([...common, '--attest', 'attest-dba=Dana DBA', '--attest', 'attest-dashboards=Dana DBA', '--accept', reason], env());
    const out = JSON.parse(passed.stdout).result;
    type C = { id: string; status: string; summary: string; accepted?: { reason: string } };
    expect(out.checks.filter((c: C) => c.status !== 'pass' && c.status !== 'skipped' && !c.accepted).map((c: C) => `${c.id}: ${c.summary}`)).toEqual([]);
    expect(out.checks.find((c: C) => c.id === 'performance-baseline').accepted.reason).toBe('query times are compared from the APM this time');
    expect(out.gate.verdict).toBe('pass-with-accepted-risks');
    expect(passed.code).toBe(0);
    expect(out.checks.find((c: { id: string }) => c.id === 'attest-dba').attested.by).toBe('Dana DBA');

    const unknown = await flightdeck([...common, '--attest', 'nope=x'], env());
    expect(unknown.code).toBe(2);
  });
});

// Phase 0's PgBouncer check against a real PgBouncer in front of the test PostgreSQL: skipped
// without a pooler, failing when the pooler has no pool for production, passing on an idle pool,
// and failing (in the library and in `flightdeck check --json`) once clients hold every server
// connection of the pool and one more waits, naming the pool and cl_waiting. Transaction pooling is
// called out in the evidence; a wrong console password is an error, never a pass.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { CheckResult } from '../../shared/checks';
import type { Profile } from '../../shared/profile';
import type { OpenConnection } from '../../main/connections/connect';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/log';
import { Phase0Service } from '../../main/phases/phase0/phase0-service';
import { ProfileStore } from '../../main/profiles/profile-store';
import { defaultPhase0Settings, type PgBouncerConsole, type Phase0Context } from '../../main/phases/phase0/context';
import { runPhase0 } from '../../main/phases/phase0/run-phase0';
import { closeOpened, postgresTestDb, type TestDb } from '../support/migration-dbs';
import { describeWith, requireServer } from '../support/servers';

const run = promisify(execFile);
const cli = path.resolve('bin/flightdeck.js');

describeWith('pgbouncer', 'Phase 0 PgBouncer pools', (bouncer) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-phase0-pgbouncer-'));
  let prod: TestDb;
  const conns: OpenConnection[] = [];
  const clients: pg.Client[] = [];

  const consoleProfile: Profile = { id: 'pgbouncer', name: 'test pgbouncer', engine: 'postgres', environment: 'production', host: bouncer.host, port: bouncer.port, database: 'pgbouncer', user: bouncer.adminUser, tls: { mode: 'prefer' }, connectTimeoutMs: 5000 };
  const pooler = (password = bouncer.adminPassword): PgBouncerConsole => ({ profile: consoleProfile, secrets: { dbPassword: password } });

  /** A client of the pooler, as an application would connect. */
  async function appClient(database: string): Promise<pg.Client> {
    const c = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.user, password: bouncer.password, database, application_name: 'fd-test/app' });
    c.on('error', () => undefined);
    clients.push(c);
    await c.connect();
    return c;
  }

  /** SHOW POOLS as the admin sees it, for waiting until the pooler reached a state. */
  async function showPool(database: string): Promise<Record<string, number | string> | undefined> {
    const c = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.adminUser, password: bouncer.adminPassword, database: 'pgbouncer' });
    await c.connect();
    try {
      return (await c.query('SHOW POOLS')).rows.find((r) => r.database === database && r.user === bouncer.user);
    } finally {
      await c.end();
    }
  }

  async function context(over: { pgbouncer?: PgBouncerConsole } = {}): Promise<Phase0Context> {
    const production = await prod.open({ poolSize: 1 });
    conns.push(production);
    return {
      production,
      settings: {
        ...defaultPhase0Settings,
        dumpDir: path.join(work, 'dumps'),
        baselineDir: path.join(work, 'baselines'),
        attestations: {},
        accepted: {},
        ...('pgbouncer' in over ? (over.pgbouncer ? { pgbouncer: over.pgbouncer } : {}) : { pgbouncer: pooler() }),
      },
    };
  }
  const check = async (ctx: Phase0Context) => {
    const report = await runPhase0(ctx, { only: ['pgbouncer-pools'] });
    return { report, c: report.checks.find((x) => x.id === 'pgbouncer-pools')! };
  };
  const fact = (c: CheckResult, key: string) => c.evidence.facts.find(([k]) => k === key)?.[1];

  beforeAll(async () => {
    prod = await postgresTestDb(requireServer('postgres'), 'fdpgbprod');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await closeOpened();
  });
  afterAll(async () => {
    await prod?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('is skipped with the reason when no pooler is given, and does not block the gate', async () => {
    const { report, c } = await check(await context({ pgbouncer: undefined }));
    expect(c).toMatchObject({ status: 'skipped', severity: 'high', summary: 'No PgBouncer admin console was given, so pooler queues were not checked.' });
    expect(report.gate.verdict).toBe('pass');
  });

  it('fails when the pooler has no pool for production, then passes on an idle pool, with evidence per pool', async () => {
    const before = await check(await context());
    expect(before.c.status).toBe('fail');
    expect(before.c.summary).toMatch(new RegExp(`^PgBouncer at ${bouncer.adminUser}@127\\.0\\.0\\.1:${bouncer.port}/pgbouncer has no database entry or pool for ${prod.name} \\(it serves .*flightdeck_test.*\\)`));

    // An application connects through the "*" entry and leaves: the pool stays, idle.
    const app = await appClient(prod.name);
    await app.query('select 1');
    await app.end();
    await expect.poll(async () => (await showPool(prod.name))?.cl_active, { timeout: 5000 }).toBe(0);

    const { report, c } = await check(await context());
    expect(c.status).toBe('pass');
    expect(c.summary).toMatch(new RegExp(`^No client waits on PgBouncer for ${prod.name}; server slots: ${prod.name}/flightdeck 3 of 3 free; \\d+ of 100 client connections in use\\.$`));
    expect(report.gate.verdict).toBe('pass');
    const table = c.evidence.tables.find((t) => t.title === `Pool ${prod.name}/flightdeck`)!;
    expect(table.columns).toEqual(['cl_active', 'cl_waiting', 'sv_active', 'sv_idle', 'sv_used', 'maxwait', 'pool_mode', 'pool_size', 'free server slots']);
    expect(table.rows).toEqual([['0', '0', '0', expect.stringMatching(/^[01]$/), expect.stringMatching(/^[01]$/), '0.0 s', 'session', '3', '3']]);
    expect(fact(c, 'pooler')).toMatch(new RegExp(`^${bouncer.adminUser}@127\\.0\\.0\\.1:${bouncer.port}/pgbouncer \\(PgBouncer \\d+\\.\\d+`));
    expect(fact(c, 'default_pool_size')).toBe('3');
    expect(fact(c, 'pool_mode')).toBe('session');
    expect(fact(c, 'max_client_conn')).toMatch(/^100 \(\d+ client connection\(s\) in use, \d+ free, 20 needed free\)$/);
    expect(fact(c, 'transaction pooling')).toBeUndefined();
    expect(JSON.stringify(report)).not.toContain(bouncer.adminPassword);
  });

  it('fails naming the pool and cl_waiting when clients hold every server connection and one more waits, in the library and the CLI', { timeout: 90_000 }, async () => {
    // Each holder keeps a transaction open, so each keeps a server connection of the pool.
    for (let i = 0; i < bouncer.defaultPoolSize; i++) {
      const h = await appClient(prod.name);
      await h.query('begin');
      await h.query('select 1');
    }
    // One more: PgBouncer accepts it and queues it for a server connection.
    const waiter = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.user, password: bouncer.password, database: prod.name, application_name: 'fd-test/waiter' });
    waiter.on('error', () => undefined);
    clients.push(waiter);
    const served = waiter.connect().then(() => waiter.query('select 1 as served'));
    served.catch(() => undefined);
    await expect.poll(async () => (await showPool(prod.name))?.cl_waiting, { timeout: 10_000 }).toBe(1);

    const { report, c } = await check(await context());
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(new RegExp(`^Pool ${prod.name}/flightdeck has 1 client waiting \\(cl_waiting 1, maxwait \\d+\\.\\d s\\) and 0 of 3 server connections free \\(sv_active 3, needs 1\\)\\.$`));
    expect(c.hint).toMatch(/SHOW CLIENTS/);
    expect(report.gate).toMatchObject({ verdict: 'fix-first', mayProceed: false, blocking: ['pgbouncer-pools'] });
    const row = c.evidence.tables.find((t) => t.title === `Pool ${prod.name}/flightdeck`)!.rows[0]!;
    expect(row.slice(0, 3)).toEqual([String(bouncer.defaultPoolSize), '1', String(bouncer.defaultPoolSize)]);
    expect(row.slice(6)).toEqual(['session', '3', '0']);

    // The same from a terminal: exit 1 and the same verdict in the JSON; the password comes from
    // the environment and appears nowhere in the output.
    if (!fs.existsSync('dist/main/cli.js')) throw new Error('dist/main/cli.js is missing: run `npm run build` before the tests (npm test does).');
    const pgServer = requireServer('postgres');
    const args = ['check', '--production', `postgres://${pgServer.user}@${pgServer.host}:${pgServer.port}/${prod.name}?sslmode=disable`, '--pgbouncer', `postgres://${bouncer.adminUser}@${bouncer.host}:${bouncer.port}/pgbouncer`, '--only', 'pgbouncer-pools', '--json'];
    const out = await run(process.execPath, [cli, ...args], { env: { ...process.env, FLIGHTDECK_DATA_DIR: work, SSH_AUTH_SOCK: '', PGPASSWORD: pgServer.password, FLIGHTDECK_PGBOUNCER_PASSWORD: bouncer.adminPassword }, timeout: 60_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).not.toContain(bouncer.adminPassword);
    const result = JSON.parse(out.stdout).result;
    expect(result.gate).toMatchObject({ verdict: 'fix-first', blocking: ['pgbouncer-pools'] });
    expect(result.checks).toHaveLength(1);
    expect(result.checks[0]).toMatchObject({ id: 'pgbouncer-pools', status: 'fail', severity: 'high' });
    expect(result.checks[0].summary).toContain(`Pool ${prod.name}/flightdeck has 1 client waiting (cl_waiting 1, maxwait `);
    expect(result.checks[0].summary).toContain('and 0 of 3 server connections free (sv_active 3, needs 1)');
    expect(result.checks[0].evidence.tables[0]).toMatchObject({ title: `Pool ${prod.name}/flightdeck` });

    // Once the holders finish, the waiting client is served.
    for (const h of clients.slice(0, bouncer.defaultPoolSize)) await h.end();
    expect((await served).rows[0]).toEqual({ served: 1 });
  });

  it('says in the evidence that a migration must not run through transaction pooling', async () => {
    // flightdeck_test is pooled twice: in session mode and, as flightdeck_test_tx, in transaction mode.
    const app = await appClient(bouncer.transactionDatabase);
    await app.query('select 1');
    // The check reads only the production profile's database name: point it at flightdeck_test.
    const ctx = await context();
    const production = { ...ctx.production, profile: { ...ctx.production.profile, database: bouncer.database } };
    const { c } = await check({ ...ctx, production });
    expect(c.status).toBe('pass');
    expect(c.summary).toContain(`PgBouncer pools ${bouncer.database} in transaction mode: run the migration on a direct connection to PostgreSQL, not through this pooler (advisory locks and SET are session-level).`);
    expect(fact(c, 'transaction pooling')).toMatch(/^pool_mode=transaction for flightdeck_test: advisory locks, SET, .* a migration must not run through this pooler/);
    expect(c.evidence.tables.map((t) => t.title)).toContain(`Pool ${bouncer.transactionDatabase}/flightdeck`);
  });

  it('reports an error, not a pass, when the console refuses the password', async () => {
    const { report, c } = await check(await context({ pgbouncer: pooler('not-the-password') }));
    expect(c.status).toBe('error');
    expect(c.summary).toMatch(new RegExp(`^The check could not run: PgBouncer's admin console: PostgreSQL at 127\\.0\\.0\\.1:${bouncer.port} rejected the credentials of user "${bouncer.adminUser}"\\.$`));
    expect(report.gate.verdict).toBe('fix-first');
  });

  it('runs from the cockpit with a saved PgBouncer profile, its stored password used and kept out of the report', async () => {
    const profiles = new ProfileStore(work);
    profiles.addEphemeral({ ...prod.profile, id: 'prod', name: 'shop production', environment: 'production' });
    profiles.addEphemeral({ ...consoleProfile, id: 'pooler', name: 'shop pooler' });
    profiles.addEphemeral({ ...consoleProfile, id: 'not-console', name: 'shop through the pooler', database: prod.name });
    const secrets: Record<string, string> = { prod: prod.password, pooler: bouncer.adminPassword };
    const events = new EventBus();
    const service = new Phase0Service({
      profiles,
      resolveSecrets: async (id) => (secrets[id] ? { dbPassword: secrets[id] } : {}),
      hostKeys: new HostKeyPolicy({ defaultKnownHostsFile: path.join(work, 'known_hosts') }),
      events,
      log: createLogger(events),
      dataDir: work,
    });
    const app = await appClient(prod.name);
    await app.query('select 1');
    const report = await service.run({ productionId: 'prod', pgbouncerProfileId: 'pooler', only: ['pgbouncer-pools'] });
    const c = report.checks.find((x) => x.id === 'pgbouncer-pools')!;
    expect(c.status, c.summary).toBe('pass');
    expect(c.summary).toMatch(new RegExp(`^No client waits on PgBouncer for ${prod.name}; server slots: ${prod.name}/flightdeck 2 of 3 free;`));
    expect(JSON.stringify(report)).not.toContain(bouncer.adminPassword);
    // Without the pooler the check is skipped, not failed.
    const without = await service.run({ productionId: 'prod', only: ['pgbouncer-pools'] });
    expect(without.checks.find((x) => x.id === 'pgbouncer-pools')!.status).toBe('skipped');
    // A profile that is not the admin console is refused before anything runs.
    await expect(service.run({ productionId: 'prod', pgbouncerProfileId: 'not-console', only: ['pgbouncer-pools'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: `The PgBouncer profile "shop through the pooler" names database "${prod.name}", not PgBouncer's admin console "pgbouncer".`,
    });
  });

  it('refuses a --pgbouncer URL that is not the admin console before connecting anywhere', async () => {
    const r = await run(process.execPath, [cli, 'check', '--production', 'postgres://app@127.0.0.1:1/shop', '--pgbouncer', 'postgres://admin:s3cret@127.0.0.1:1/shop', '--json'], { env: { ...process.env, FLIGHTDECK_DATA_DIR: work }, timeout: 30_000 }).then(
      (ok) => ({ code: 0, stdout: ok.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('s3cret');
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'INVALID_INPUT', message: '--pgbouncer postgres://admin:***@127.0.0.1:1/shop names database "shop", not PgBouncer\'s admin console "pgbouncer".' });
  });
});

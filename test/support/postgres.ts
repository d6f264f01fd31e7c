// The test PostgreSQL: a primary and a streaming replica built with the product's own cluster
// module, a login role `flightdeck` and its database `flightdeck_test` with pg_stat_statements.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { PostgresCluster, PostgresClusterError, findPostgresBinaries } from '../../main/servers/postgres-cluster';
import { freePort } from './ports';
import type { PostgresTestServer, Unavailable } from './servers';
import { privateKeyCopy, type TestCertificates } from './tls';

export interface RunningPostgres {
  info: PostgresTestServer;
  stop(): Promise<void>;
}

// Test clusters are thrown away after the run: small buffers and no fsync keep two of them cheap.
const testSettings = { shared_buffers: '32MB', max_connections: 200 };

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export async function startPostgres(root: string, certs: TestCertificates): Promise<RunningPostgres | Unavailable> {
  const binaries = findPostgresBinaries();
  if (!binaries) return { available: false, reason: 'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found' };
  if (!binaries.hasBasebackup && binaries.major < 15) return { available: false, reason: `PostgreSQL ${binaries.version} without pg_basebackup cannot clone a replica` };

  const superuserPassword = randomBytes(18).toString('base64url');
  const password = randomBytes(18).toString('base64url');
  const primary = new PostgresCluster({ dataDir: path.join(root, 'pg-primary'), port: await freePort(), superuserPassword, binaries, name: 'fd-test-primary', noSync: true, settings: testSettings });
  await primary.init();
  await startWithRetry(primary);
  let replica: PostgresCluster | undefined;
  // TLS on the replica only: the primary keeps refusing it, which the TLS_REFUSED and "prefer"
  // fallback tests need, while the replica serves the certificate tests. As root, PostgreSQL runs
  // as the cluster's default OS user `postgres`, and it refuses a key it does not own with 0600.
  const replicaKey = path.join(root, 'tls', 'pg-replica-server.key');
  const tlsSettings = { ssl: true, ssl_cert_file: certs.certFile, ssl_key_file: replicaKey };
  try {
    await privateKeyCopy(certs, replicaKey, isRoot ? 'postgres' : undefined);
    await primary.withClient(async (c) => {
      await c.query(`CREATE ROLE flightdeck LOGIN CREATEDB PASSWORD '${password}'`);
      // pg_monitor: the cockpit's panels read other sessions, replication state and statistics.
      await c.query('GRANT pg_monitor TO flightdeck');
      await c.query('CREATE DATABASE flightdeck_test OWNER flightdeck');
    });
    await primary.withClient((c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'), 'flightdeck_test');
    for (let attempt = 0; ; attempt++) {
      try {
        replica = await primary.createReplica({ dataDir: path.join(root, 'pg-replica'), port: await freePort(), slot: 'fd_test_replica', name: 'fd-test-replica', settings: tlsSettings });
        break;
      } catch (e) {
        if (!(e instanceof PostgresClusterError && e.kind === 'port-busy') || attempt >= 3) throw e;
        await rm(path.join(root, 'pg-replica'), { recursive: true, force: true });
      }
    }
  } catch (e) {
    await primary.stop('immediate').catch(() => undefined);
    throw e;
  }
  const running = replica;
  return {
    info: {
      available: true,
      host: '127.0.0.1',
      port: primary.port,
      replicaPort: running.port,
      replicaTls: { caFile: certs.caFile, serverName: certs.serverName, certFile: certs.certFile, keyFile: replicaKey },
      user: 'flightdeck',
      password,
      database: 'flightdeck_test',
      superuser: primary.superuser,
      superuserPassword,
      socketDir: primary.socketDir,
      dataDir: primary.dataDir,
      replicaDataDir: running.dataDir,
      binDir: binaries.binDir,
    },
    async stop() {
      // Tests may have stopped or killed either server; stop() does nothing for a stopped one.
      await running.stop('fast');
      await primary.stop('fast');
    },
  };
}

/** Ports from freePort() can be taken by someone else before the server binds them. */
async function startWithRetry(cluster: PostgresCluster): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await cluster.start();
      return;
    } catch (e) {
      if (!(e instanceof PostgresClusterError && e.kind === 'port-busy') || attempt >= 3) throw e;
      cluster.setPort(await freePort());
    }
  }
}

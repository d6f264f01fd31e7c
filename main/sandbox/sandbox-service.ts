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
    return (this.starting ??= this.doStart().finally(() => (this.starting = undefined)));
  }

  private async doStart(): Promise<SandboxState> {
    await this.stopping;
    const taskId = `sandbox-start-${Date.now()}`;
    const startedAt = Date.now();
    const sandbox = (this.sandbox = new Sandbox({ dataDir: this.deps.dataDir, log: this.deps.log }));
    this.publish({ state: 'starting', profileIds: [], dataDir: sandbox.dir });
    try {
      const info = await sandbox.start((p) => {
        const elapsed = Date.now() - startedAt;
        const etaMs = p.fraction && p.fraction > 0.05 ? Math.round((elapsed / p.fraction) * (1 - p.fraction)) : undefined;
        this.deps.events.emit('task/progress', { taskId, label: `Sandbox: ${p.label}`, fraction: p.fraction, state: 'running', ...(etaMs !== undefined ? { etaMs } : {}) });
      });
      await this.addProfiles(info);
      this.deps.events.emit('task/progress', { taskId, label: 'Sandbox ready', fraction: 1, state: 'done' });
      this.deps.log.info('sandbox', `running: primary 127.0.0.1:${info.primary.port}, replica 127.0.0.1:${info.replica.port} (${info.binaries})`);
      return this.publish({ state: 'running', profileIds: Object.values(sandboxProfileIds), dataDir: sandbox.dir, binaries: info.binaries });
    } catch (e) {
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

  stop(): Promise<SandboxState> {
    if (!this.sandbox) return Promise.resolve(this.current);
    return (this.stopping ??= this.doStop().finally(() => (this.stopping = undefined)));
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

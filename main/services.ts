// The composition root: every service the transports reach, built once per process.
import type { AppInfo } from '../shared/api';
import { ConnectionManager } from './connections/connection-manager';
import { HostKeyPolicy } from './connections/ssh/host-keys';
import type { EventBus } from './events';
import type { Logger } from './log';
import path from 'node:path';
import { defaultKnownHostsFile } from './platform/paths';
import { PlanService } from './analysis/plan-service';
import { MigrationService } from './migrations/migration-service';
import { EventMarkers } from './monitor/event-markers';
import { MonitorService } from './monitor/monitor-service';
import { MonitorSubscriptions } from './monitor/monitor-subscriptions';
import { StatementBaselines } from './monitor/statement-baselines';
import { Phase0Service } from './phases/phase0/phase0-service';
import { samplers } from './monitor/samplers';
import { ProfileStore } from './profiles/profile-store';
import { SandboxService } from './sandbox/sandbox-service';
import { MemorySecretStore, type SecretStore } from './secrets/secret-store';
import { version } from './version';

export interface ServicesOptions {
  transport: 'electron' | 'host' | 'cli';
  dataDir: string;
  secretStore: SecretStore;
  watchOnly: boolean;
  events: EventBus;
  log: Logger;
  knownHostsFile?: string;
}

export interface Services {
  profiles: ProfileStore;
  /** Where the user's secrets are kept (safeStorage in the app, memory in the host and CLI). */
  secretStore: SecretStore;
  /** Lookup across the user's secrets and those of Flightdeck's own profiles (the sandbox's). */
  secrets: Pick<SecretStore, 'get'>;
  hostKeys: HostKeyPolicy;
  connections: ConnectionManager;
  sandbox: SandboxService;
  monitor: MonitorService;
  /** Which client watches which target (monitor/start and monitor/stop go through it). */
  subscriptions: MonitorSubscriptions;
  baselines: StatementBaselines;
  markers: EventMarkers;
  migrations: MigrationService;
  phase0: Phase0Service;
  plan: PlanService;
  log: Logger;
  appInfo(): AppInfo;
  shutdown(): Promise<void>;
}

export function createServices(o: ServicesOptions): Services {
  const profiles = new ProfileStore(o.dataDir);
  // Secrets of Flightdeck-managed profiles are generated locally and never persisted by the store.
  const managedSecrets = new MemorySecretStore();
  const secrets: Pick<SecretStore, 'get'> = {
    get: async (id, kind) => (profiles.isEphemeral(id) ? managedSecrets.get(id, kind) : o.secretStore.get(id, kind)),
  };
  const hostKeys = new HostKeyPolicy({ defaultKnownHostsFile: o.knownHostsFile ?? defaultKnownHostsFile() });
  const connections = new ConnectionManager({ profiles, secrets, hostKeys, events: o.events, log: o.log });
  const baselines = new StatementBaselines(path.join(o.dataDir, 'baselines'));
  const monitor = new MonitorService({
    profiles,
    resolveSecrets: (id) => connections.resolveSecrets(id),
    hostKeys,
    events: o.events,
    log: o.log,
    samplers,
    baselines,
  });
  const resolveSecrets = (id: string) => connections.resolveSecrets(id);
  const markers = new EventMarkers(o.events);
  const migrations = new MigrationService({ profiles, resolveSecrets, hostKeys, events: o.events, log: o.log, journalDir: path.join(o.dataDir, 'journal'), markers });
  const phase0 = new Phase0Service({ profiles, resolveSecrets, hostKeys, events: o.events, log: o.log, dataDir: o.dataDir });
  const plan = new PlanService({ profiles, resolveSecrets, hostKeys, events: o.events, log: o.log });
  const sandbox = new SandboxService({
    dataDir: o.dataDir,
    profiles,
    secrets: managedSecrets,
    connections,
    events: o.events,
    log: o.log,
  });
  return {
    profiles,
    secretStore: o.secretStore,
    secrets,
    hostKeys,
    connections,
    sandbox,
    monitor,
    subscriptions: new MonitorSubscriptions(monitor),
    baselines,
    markers,
    migrations,
    phase0,
    plan,
    log: o.log,
    appInfo: () => ({
      version,
      transport: o.transport === 'electron' ? 'electron' : 'host',
      watchOnly: o.watchOnly,
      dataDir: o.dataDir,
      secretStorage: o.secretStore.describe(),
    }),
    async shutdown() {
      await migrations.stopAll();
      await phase0.stopAll();
      await monitor.stopAll();
      await connections.closeAll();
      await sandbox.stop();
    },
  };
}

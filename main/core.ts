// The Electron-free core: services, the dispatcher and the event bus. Electron (main/electron/),
// the browser host (main/host/) and the CLI (main/cli/) each create one and only carry calls to it.
import { createDispatcher, type CallOutcome } from './router';
import { EventBus } from './events';
import { createHandlers } from './handlers';
import { createLogger, type Logger } from './log';
import { createServices, type Services } from './services';
import type { SecretStore } from './secrets/secret-store';

export interface CoreOptions {
  transport: 'electron' | 'host' | 'cli';
  dataDir: string;
  secretStore: SecretStore;
  watchOnly?: boolean;
  logToStderr?: boolean;
  /** Start the built-in sandbox when no profile of the user's exists (the app's first run). */
  startSandboxWhenEmpty?: boolean;
  /** known_hosts file used when a profile names none (tests point it at their own). */
  knownHostsFile?: string;
}

export interface Core {
  /** `clientId` names the calling cockpit (a browser tab, the app's window) for per-client state. */
  dispatch(method: string, input: unknown, clientId?: string): Promise<CallOutcome>;
  /** The client went away: what it subscribed to is released. */
  clientGone(clientId: string): Promise<void>;
  events: EventBus;
  log: Logger;
  services: Services;
  shutdown(): Promise<void>;
}

export async function createCore(opts: CoreOptions): Promise<Core> {
  const events = new EventBus();
  const log = createLogger(events, { stderr: opts.logToStderr });
  const watchOnly = opts.watchOnly ?? false;
  const services = createServices({ transport: opts.transport, dataDir: opts.dataDir, secretStore: opts.secretStore, watchOnly, events, log, knownHostsFile: opts.knownHostsFile });
  const dispatch = createDispatcher(createHandlers(services), log);
  const ctx = { transport: opts.transport, watchOnly };

  if (opts.startSandboxWhenEmpty && !watchOnly && (await services.profiles.persistedCount()) === 0) {
    // In the background: the window opens at once and shows the sandbox's progress.
    services.sandbox.start().catch(() => undefined);
  }

  let stopping: Promise<void> | undefined;
  return {
    dispatch: (method, input, clientId) => dispatch(method, input, clientId ? { ...ctx, clientId } : ctx),
    clientGone: (clientId) => services.subscriptions.release(clientId),
    events,
    log,
    services,
    shutdown: () => (stopping ??= services.shutdown()),
  };
}

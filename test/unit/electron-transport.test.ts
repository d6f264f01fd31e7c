// The Electron transport end to end, without the Electron binary (it cannot be downloaded here):
// the real preload (preload/index.ts) and the real IPC side (main/electron/ipc.ts) talk to a real
// core through a stand-in for Electron's IPC that copies values the way Electron does: arguments
// and results by structured clone, and values crossing contextBridge the way the bridge copies them
// (an Error keeps only its message, a plain object keeps its keys).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FlightdeckApi } from '../../shared/api';
import { errorShape, FlightdeckError } from '../../shared/errors';

type Fn = (...args: unknown[]) => unknown;

const bridge = vi.hoisted(() => {
  const handlers = new Map<string, Fn>();
  const rendererListeners = new Map<string, Set<Fn>>();
  const exposed: Record<string, unknown> = {};
  // What main sees as the calling frame; tests change it to play an intruder.
  const sender = { contentsId: 1, frameTreeNodeId: 7, parent: null as object | null, url: 'app://flightdeck/index.html' };

  // contextBridge semantics: functions are proxied, Errors cross as a bare Error with the message,
  // plain objects and arrays are copied key by key, other values are structured-cloned.
  const acrossBridge = (value: unknown): unknown => {
    if (typeof value === 'function') {
      return (...args: unknown[]) => {
        const result = (value as Fn)(...args.map(acrossBridge));
        return result instanceof Promise ? result.then(acrossBridge, (e: unknown) => Promise.reject(acrossBridge(e))) : acrossBridge(result);
      };
    }
    if (value instanceof Error) return new Error(value.message);
    if (Array.isArray(value)) return value.map(acrossBridge);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, acrossBridge(v)]));
    return structuredClone(value);
  };

  const window = {
    isDestroyed: () => false,
    once: () => undefined,
    webContents: {
      id: 1,
      isDestroyed: () => false,
      mainFrame: { frameTreeNodeId: 7, url: 'app://flightdeck/index.html' },
      send(channel: string, message: unknown) {
        for (const l of rendererListeners.get(channel) ?? []) l({ sender: 'ipc-renderer-event' }, structuredClone(message));
      },
    },
  };

  const electron = {
    ipcMain: {
      handle: (channel: string, fn: Fn) => handlers.set(channel, fn),
      removeHandler: (channel: string) => handlers.delete(channel),
    },
    ipcRenderer: {
      async invoke(channel: string, ...args: unknown[]) {
        const fn = handlers.get(channel);
        if (!fn) throw new Error(`Error invoking remote method '${channel}': No handler registered for '${channel}'`);
        const event = {
          sender: { id: sender.contentsId },
          senderFrame: { parent: sender.parent, frameTreeNodeId: sender.frameTreeNodeId, url: sender.url },
        };
        return structuredClone(await fn(event, ...structuredClone(args)));
      },
      on(channel: string, listener: Fn) {
        if (!rendererListeners.has(channel)) rendererListeners.set(channel, new Set());
        rendererListeners.get(channel)!.add(listener);
      },
    },
    contextBridge: {
      exposeInMainWorld: (key: string, api: unknown) => {
        exposed[key] = acrossBridge(api);
      },
    },
  };
  return { electron, exposed, sender, window, handlers };
});

vi.mock('electron', () => bridge.electron);

const { createCore } = await import('../../main/core');
const { MemorySecretStore } = await import('../../main/secrets/secret-store');
const { SafeStorageSecretStore } = await import('../../main/electron/safe-storage-secret-store');
const { registerCallHandler, forwardEvents } = await import('../../main/electron/ipc');
await import('../../preload/index');

const api = bridge.exposed.flightdeck as FlightdeckApi;
let dataDir: string;
let core: Awaited<ReturnType<typeof createCore>>;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fd-electron-transport-'));
  const linuxWithoutKeyring = {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'basic_text' as const,
    encryptString: (s: string) => Buffer.from(s),
    decryptString: (b: Buffer) => b.toString(),
  };
  core = await createCore({
    transport: 'electron',
    dataDir,
    secretStore: process.platform === 'linux' ? new SafeStorageSecretStore({ file: path.join(dataDir, 'secrets.json'), safeStorage: linuxWithoutKeyring, platform: 'linux', env: {} }) : new MemorySecretStore(),
  });
  registerCallHandler(Promise.resolve(core), () => bridge.window as never);
  forwardEvents(core, bridge.window as never);
});

afterAll(async () => {
  await core?.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('window.flightdeck over IPC', () => {
  it('has one method per call and answers with the core’s result', async () => {
    expect(typeof api.app.info).toBe('function');
    expect(typeof api.ssh.trustHostKey).toBe('function');
    const info = await api.app.info();
    expect(info).toMatchObject({ transport: 'electron', watchOnly: false, dataDir });
    expect(await api.profiles.list()).toEqual([]);
  });

  it('rejects with a plain {code, message, hint} that survives the bridge', async () => {
    const e = await rejection(api.connections.test({ id: 42 } as never));
    expect(e).not.toBeInstanceOf(Error);
    const shape = errorShape.parse(e);
    expect(shape).toMatchObject({ code: 'INVALID_INPUT', details: { issues: [expect.objectContaining({ path: 'id' })] } });
    expect(FlightdeckError.fromShape(shape)).toMatchObject({ code: 'INVALID_INPUT', hint: shape.hint });
  });

  it.runIf(process.platform === 'linux')('carries SECRET_STORAGE_UNAVAILABLE with its hint when no keyring is available', async () => {
    const e = await rejection(
      api.profiles.save({
        profile: { name: 'prod', engine: 'postgres', environment: 'production', host: '127.0.0.1', port: 5432, database: 'app', user: 'app' },
        secrets: { 'db-password': 'hunter2' },
      }),
    );
    const shape = errorShape.parse(e);
    expect(shape.code).toBe('SECRET_STORAGE_UNAVAILABLE');
    expect(shape.hint).toMatch(/FLIGHTDECK_SECRET_/);
  });

  it('refuses calls from a subframe or another origin with FORBIDDEN', async () => {
    try {
      bridge.sender.parent = {};
      expect(errorShape.parse(await rejection(api.app.info())).code).toBe('FORBIDDEN');
      bridge.sender.parent = null;
      bridge.sender.url = 'https://evil.example/';
      expect(errorShape.parse(await rejection(api.app.info())).code).toBe('FORBIDDEN');
      bridge.sender.url = 'app://flightdeck/index.html';
      bridge.sender.frameTreeNodeId = 8;
      expect(errorShape.parse(await rejection(api.app.info())).code).toBe('FORBIDDEN');
    } finally {
      Object.assign(bridge.sender, { parent: null, url: 'app://flightdeck/index.html', frameTreeNodeId: 7 });
    }
    await expect(api.app.info()).resolves.toMatchObject({ transport: 'electron' });
  });

  it('turns a missing main-process handler into an INTERNAL shape, not a bare Error', async () => {
    const handler = bridge.handlers.get('flightdeck:call')!;
    bridge.handlers.delete('flightdeck:call');
    try {
      expect(errorShape.parse(await rejection(api.app.info())).code).toBe('INTERNAL');
    } finally {
      bridge.handlers.set('flightdeck:call', handler);
    }
  });

  it('delivers events to subscribers of that event only, until they unsubscribe', () => {
    const lines: unknown[] = [];
    const states: unknown[] = [];
    const offLines = api.on('log/line', (line) => lines.push(line));
    const offStates = api.on('sandbox/state', (s) => states.push(s));
    core.log.warn('test', 'password=hunter2 rejected');
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', source: 'test', message: 'password=*** rejected' })]);
    expect(states).toEqual([]);
    offLines();
    core.log.warn('test', 'after unsubscribe');
    expect(lines).toHaveLength(1);
    offStates();
  });
});

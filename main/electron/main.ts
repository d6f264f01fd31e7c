// Electron's main process: app lifecycle around the same core the host and the CLI use. Built to
// dist/main/electron.cjs (scripts/build-main.mjs); everything it loads is found from the app path,
// which is the repository in development and app.asar when packaged.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { app, BrowserWindow, dialog, safeStorage } from 'electron';
import { isFlightdeckError } from '../../shared/errors';
import { createCore, type Core } from '../core';
import { defaultDataDir } from '../platform/paths';
import { hardenSession, hardenWebContents } from './hardening';
import { forwardEvents, registerCallHandler } from './ipc';
import { installAppMenu } from './menu';
import { handleAppProtocol, registerAppScheme } from './protocol';
import { SafeStorageSecretStore } from './safe-storage-secret-store';
import { createMainWindow } from './window';

/** Long enough for PostgreSQL's fast shutdown of the sandbox; short enough that quit never hangs. */
const shutdownTimeoutMs = 10_000;

function describeError(e: unknown): string {
  if (isFlightdeckError(e)) return `${e.message}\n\n${e.hint}`;
  return e instanceof Error ? e.message : String(e);
}

function fail(title: string, detail: string): void {
  process.stderr.write(`flightdeck: ${title}: ${detail}\n`);
  dialog.showErrorBox(title, detail);
  app.exit(1);
}

async function stopCore(core: Promise<Core>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
  });
  const stopped = core.then(
    async (c) => {
      await c.shutdown();
      return 'stopped' as const;
    },
    // A core that never started has nothing to stop.
    () => 'stopped' as const,
  );
  try {
    const result = await Promise.race([stopped, deadline]);
    if (result === 'timeout') process.stderr.write(`flightdeck: shutdown did not finish within ${shutdownTimeoutMs / 1000} s; quitting anyway.\n`);
  } catch (e) {
    process.stderr.write(`flightdeck: shutdown failed: ${describeError(e)}\n`);
  } finally {
    clearTimeout(timer);
  }
}

function start(dataDir: string): void {
  const appPath = app.getAppPath();
  const rendererDir = path.join(appPath, 'dist', 'renderer');
  const preload = path.join(appPath, 'dist', 'preload', 'preload.cjs');
  const icon = path.join(appPath, 'assets', 'icon.png');
  let mainWindow: BrowserWindow | null = null;

  // safeStorage answers only after 'ready', so the core (and its secret store) starts then.
  const core = app.whenReady().then(() =>
    createCore({
      transport: 'electron',
      dataDir,
      secretStore: new SafeStorageSecretStore({ file: path.join(dataDir, 'secrets.json'), safeStorage }),
      startSandboxWhenEmpty: true,
      logToStderr: !app.isPackaged,
    }),
  );
  core.catch((e: unknown) => fail('Flightdeck could not start', describeError(e)));
  registerCallHandler(core, () => mainWindow);

  const openWindow = () => {
    const win = createMainWindow({ preload, icon });
    mainWindow = win;
    win.on('closed', () => {
      if (mainWindow === win) mainWindow = null;
    });
    core.then(
      (c) => {
        if (!win.isDestroyed()) forwardEvents(c, win);
      },
      () => undefined,
    );
  };

  app.on('second-instance', () => {
    if (!app.isReady()) return;
    if (!mainWindow) return openWindow();
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  app.on('window-all-closed', () => {
    // macOS apps stay in the dock with no window; elsewhere closing the cockpit quits it.
    if (process.platform !== 'darwin') app.quit();
  });

  app.on('activate', () => {
    if (app.isReady() && BrowserWindow.getAllWindows().length === 0) openWindow();
  });

  // Quit waits for the core to stop (the sandbox's PostgreSQL shuts down cleanly, the journal is
  // flushed), bounded by shutdownTimeoutMs; the second 'before-quit' then goes through.
  let quitting: 'no' | 'stopping' | 'stopped' = 'no';
  app.on('before-quit', (event) => {
    if (quitting === 'stopped') return;
    event.preventDefault();
    if (quitting === 'stopping') return;
    quitting = 'stopping';
    void stopCore(core).finally(() => {
      quitting = 'stopped';
      app.quit();
    });
  });
  // Ctrl-C in the terminal that started us, or a service manager's stop: the same clean quit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());

  void app.whenReady().then(() => {
    hardenSession();
    handleAppProtocol(rendererDir);
    installAppMenu(dataDir);
    if (!existsSync(path.join(rendererDir, 'index.html'))) {
      return fail('Flightdeck is not built', `${path.join(rendererDir, 'index.html')} is missing. Run \`npm run build\` and start Flightdeck again.`);
    }
    openWindow();
  });
}

// Profiles, the journal and the sandbox live in the same folder as for `flightdeck serve` and the
// CLI (FLIGHTDECK_DATA_DIR or the OS's per-user app data folder), so all three see the same state.
// Set before 'ready': Chromium fixes its profile folder then.
const dataDir = defaultDataDir();
app.setPath('userData', dataDir);
// Chromium's caches, local storage and GPU files go to a subfolder, away from the journal and profiles.
app.setPath('sessionData', path.join(dataDir, 'chromium'));
app.enableSandbox();
registerAppScheme();
hardenWebContents();

if (app.requestSingleInstanceLock()) {
  start(dataDir);
} else {
  // Another Flightdeck owns the data folder (journal, sandbox); it was told to come forward.
  app.quit();
}

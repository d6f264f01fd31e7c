// The cockpit window. Its page runs with no Node, in Chromium's sandbox, isolated from the preload,
// and can reach the core only through window.flightdeck (preload/index.ts).
import { existsSync } from 'node:fs';
import { BrowserWindow } from 'electron';
import { appIndexUrl } from './app-url';

export interface MainWindowOptions {
  /** dist/preload/preload.cjs */
  preload: string;
  /** Window icon on Linux/Windows when run unpackaged; packaged builds take it from the installer. */
  icon?: string;
}

export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'Flightdeck',
    // Shown on ready-to-show, so the user never sees an empty white frame.
    show: false,
    backgroundColor: '#0f1620',
    ...(opts.icon && existsSync(opts.icon) ? { icon: opts.icon } : {}),
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // Page titles come from the renderer; the window keeps the product name in the task switcher.
  win.on('page-title-updated', (event) => event.preventDefault());
  void win.loadURL(appIndexUrl);
  return win;
}

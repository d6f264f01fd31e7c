// App-wide protections from Electron's security checklist that apply to every web contents and to
// the default session, installed once at startup. The window's own webPreferences are in window.ts.
import { app, session, shell } from 'electron';
import { isAppUrl, isSafeExternalUrl } from './app-url';

function openExternally(url: string): void {
  if (!isSafeExternalUrl(url)) return;
  shell.openExternal(url).catch(() => {
    // No browser configured: the link simply does nothing, the cockpit stays as it was.
  });
}

/** Call before any window exists (web-contents-created only sees contents created afterwards). */
export function hardenWebContents(): void {
  app.on('web-contents-created', (_event, contents) => {
    // No <webview>: it would be a second, less restricted renderer inside ours.
    contents.on('will-attach-webview', (event) => event.preventDefault());
    // The page may move within app://flightdeck/ only; anywhere else would be content we did not
    // ship running next to our preload. https links go to the user's browser instead.
    contents.on('will-navigate', (event) => {
      if (isAppUrl(event.url)) return;
      event.preventDefault();
      openExternally(event.url);
    });
    contents.on('will-frame-navigate', (event) => {
      if (!event.isMainFrame) event.preventDefault();
    });
    contents.on('will-redirect', (event) => {
      if (!isAppUrl(event.url)) event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      openExternally(url);
      return { action: 'deny' };
    });
  });
}

/** Call after app ready. */
export function hardenSession(): void {
  const ses = session.defaultSession;
  // Copy buttons (SQL, reports) need clipboard writes; nothing else is ever granted, and only to
  // our own origin.
  const allowed = (permission: string, url: string) => permission === 'clipboard-sanitized-write' && isAppUrl(url);
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => callback(allowed(permission, details.requestingUrl)));
  ses.setPermissionCheckHandler((_contents, permission, _origin, details) => allowed(permission, details.requestingUrl ?? ''));
  ses.setDevicePermissionHandler(() => false);
  // The renderer talks to the core over IPC only: any network request from a page is a bug or an
  // injection, so it is cancelled even if the CSP were ever loosened. Database traffic runs in the
  // main process on Node sockets and is not affected.
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_details, callback) => callback({ cancel: true }));
}

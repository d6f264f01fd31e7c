// The Electron transport: one invoke channel for every call, one send channel for every event.
// Every call is checked against its sender before the core sees it: only the main frame of our own
// window, showing our own origin, may call. Anything else (a subframe, a navigated-away page, a
// second window) gets FORBIDDEN.
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { callChannel, eventChannel } from '../../preload/channels';
import type { ErrorShape } from '../../shared/errors';
import type { Core } from '../core';
import type { CallOutcome } from '../router';
import { isAppUrl } from './app-url';

function failure(error: ErrorShape): CallOutcome {
  return { ok: false, error };
}

/** Whether an IPC message comes from the top frame of `win`, showing app://flightdeck/. */
export function isTrustedSender(event: IpcMainInvokeEvent, win: BrowserWindow | null): boolean {
  try {
    if (!win || win.isDestroyed()) return false;
    const contents = win.webContents;
    if (event.sender.id !== contents.id) return false;
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    // WebFrameMain objects for one frame are not always the same JS object; the tree node id is stable.
    if (frame.frameTreeNodeId !== contents.mainFrame.frameTreeNodeId) return false;
    return isAppUrl(frame.url);
  } catch {
    // senderFrame throws once the frame is gone: a caller we cannot identify is not trusted.
    return false;
  }
}

/**
 * Installs the call handler. `core` may still be starting: calls wait for it, and if it failed to
 * start they get its error. Returns a function that removes the handler.
 */
export function registerCallHandler(core: Promise<Core>, mainWindow: () => BrowserWindow | null): () => void {
  ipcMain.handle(callChannel, async (event, method: unknown, input: unknown): Promise<CallOutcome> => {
    if (!isTrustedSender(event, mainWindow())) {
      return failure({
        code: 'FORBIDDEN',
        message: 'This call did not come from the Flightdeck window.',
        hint: 'Only the Flightdeck page itself may use its API; reload the window.',
      });
    }
    if (typeof method !== 'string') {
      return failure({ code: 'INVALID_INPUT', message: 'A call needs a method name.', hint: 'Update the renderer and main process to the same Flightdeck version.' });
    }
    let ready: Core;
    try {
      ready = await core;
    } catch (e) {
      return failure({
        code: 'INTERNAL',
        message: `Flightdeck's core did not start: ${e instanceof Error ? e.message : String(e)}`,
        hint: 'Quit and start Flightdeck again; the terminal or the system log shows what failed.',
      });
    }
    // One window, one client: its subscriptions are the window's.
    return ready.dispatch(method, input, 'app-window');
  });
  return () => ipcMain.removeHandler(callChannel);
}

/**
 * Sends every event on the core's bus to `win` while it shows our page. Returns the unsubscribe
 * function; it also runs by itself when the window closes.
 */
export function forwardEvents(core: Core, win: BrowserWindow): () => void {
  const unsubscribe = core.events.subscribe((e) => {
    if (win.isDestroyed()) return;
    const contents = win.webContents;
    // After a failed navigation the frame may show something else; it gets nothing from us.
    if (contents.isDestroyed() || !isAppUrl(contents.mainFrame.url)) return;
    contents.send(eventChannel, e);
  });
  win.once('closed', unsubscribe);
  return unsubscribe;
}

// Exposes `window.flightdeck` (FlightdeckApi from shared/api.ts) to the sandboxed, context-isolated
// renderer: one method per call, plus `on(event, listener)`. Nothing else of Electron crosses.
//
// Error passing: contextBridge copies an Error as a bare Error with only its message (custom
// properties such as code and hint are dropped), but copies a plain object key by key. So a failed
// call rejects with the plain ErrorShape `{code, message, hint, details?}` itself, never an Error.
// The renderer's client turns it back into a class with `FlightdeckError.fromShape(shape)` after
// checking it with `errorShape.safeParse`, exactly as it does with a WebSocket result message.
import { contextBridge, ipcRenderer } from 'electron';
import { buildApi, type CallName, type EventName } from '../shared/api';
import type { ErrorShape } from '../shared/errors';
import { callChannel, eventChannel } from './channels';

type Listener = (payload: unknown) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isErrorShape(value: unknown): value is ErrorShape {
  return isRecord(value) && typeof value.code === 'string' && typeof value.message === 'string' && typeof value.hint === 'string';
}

function internalError(message: string): ErrorShape {
  return { code: 'INTERNAL', message, hint: 'Restart Flightdeck; if it happens again, the log panel and the terminal show what the main process said.' };
}

async function invoke(method: CallName, input: unknown): Promise<unknown> {
  let outcome: unknown;
  try {
    outcome = await ipcRenderer.invoke(callChannel, method, input);
  } catch (e) {
    // Only reached when the main process has no handler or died; handlers answer with outcomes.
    throw internalError(`The main process did not answer ${method}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (isRecord(outcome) && outcome.ok === true) return outcome.result;
  if (isRecord(outcome) && outcome.ok === false && isErrorShape(outcome.error)) throw outcome.error;
  throw internalError(`The main process answered ${method} with something that is not a call outcome.`);
}

// One IPC listener for all subscriptions, so the renderer never sees an IpcRendererEvent (it
// carries `sender`, which would hand the page ipcRenderer itself).
const listeners = new Map<string, Set<Listener>>();

ipcRenderer.on(eventChannel, (_event, message: unknown) => {
  if (!isRecord(message) || typeof message.event !== 'string') return;
  const set = listeners.get(message.event);
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener(message.payload);
    } catch (e) {
      // One broken panel must not starve the other subscribers of the same stream.
      console.error(`flightdeck: a listener for ${message.event} threw`, e);
    }
  }
});

function subscribe(event: EventName, listener: Listener): () => void {
  let set = listeners.get(event);
  if (!set) listeners.set(event, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) listeners.delete(event);
  };
}

contextBridge.exposeInMainWorld('flightdeck', buildApi(invoke, subscribe));

// The two IPC channels between preload/ and main/electron/. Kept here, with no imports, so the
// sandboxed preload bundle and the main process agree on names without either importing the other.

/** Renderer → main: `invoke(callChannel, method, input)` resolves to a CallOutcome, never rejects. */
export const callChannel = 'flightdeck:call';

/** Main → renderer: `{ event, payload }` for every event on the core's bus. */
export const eventChannel = 'flightdeck:event';

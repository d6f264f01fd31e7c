// Whether the renderer can reach the core right now. Electron's IPC is always there; the browser
// host's WebSocket can drop (host restarted, laptop slept) and reconnects with backoff.
export type CoreLinkState =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'down'; attempt: number; retryInMs: number; reason: string };

export interface CoreLink {
  current(): CoreLinkState;
  /** Called on every change; returns the unsubscribe function. */
  watch(listener: (state: CoreLinkState) => void): () => void;
}

export const alwaysOpenLink: CoreLink = {
  current: () => ({ state: 'open' }),
  watch: () => () => {},
};

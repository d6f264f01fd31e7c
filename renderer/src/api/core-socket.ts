// The browser-mode transport: one WebSocket to the host's /api, speaking shared/wire.ts. Calls made
// while the socket is down wait for it (up to a limit); calls in flight when it drops fail, because
// the renderer cannot know whether the core ran them.
import type { CallName, EventName, Invoke, Subscribe } from '../../../shared/api';
import { FlightdeckError } from '../../../shared/errors';
import type { ClientMessage, ServerMessage } from '../../../shared/wire';
import { asFlightdeckError } from './as-flightdeck-error';
import type { CoreLink, CoreLinkState } from './core-link';

interface Pending {
  method: CallName;
  resolve: (value: unknown) => void;
  reject: (error: FlightdeckError) => void;
}

interface Queued extends Pending {
  id: number;
  input: unknown;
  timer: ReturnType<typeof setTimeout>;
}

const maxBackoffMs = 10_000;
/** How long a call waits for the socket to come back before it gives up. */
const queueLimitMs = 20_000;

export class CoreSocket implements CoreLink {
  private socket: WebSocket | undefined;
  private state: CoreLinkState = { state: 'connecting', attempt: 0 };
  private attempt = 0;
  private nextId = 1;
  private readonly inFlight = new Map<number, Pending>();
  private readonly queued: Queued[] = [];
  private readonly eventListeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly linkListeners = new Set<(state: CoreLinkState) => void>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly missingTokenReason?: string,
  ) {}

  start(): void {
    this.open();
  }

  current(): CoreLinkState {
    return this.state;
  }

  watch(listener: (state: CoreLinkState) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  readonly invoke: Invoke = (method, input) =>
    new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.socket?.readyState === WebSocket.OPEN) {
        this.send(this.socket, { id, method, input, resolve, reject });
        return;
      }
      const timer = setTimeout(() => {
        const at = this.queued.findIndex((q) => q.id === id);
        if (at >= 0) this.queued.splice(at, 1);
        reject(lostCore(method, 'The Flightdeck core could not be reached'));
      }, queueLimitMs);
      this.queued.push({ id, method, input, resolve, reject, timer });
    });

  readonly subscribe: Subscribe = (event: EventName, listener) => {
    let set = this.eventListeners.get(event);
    if (!set) this.eventListeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  };

  private setState(next: CoreLinkState): void {
    this.state = next;
    for (const listener of this.linkListeners) listener(next);
  }

  private open(): void {
    this.setState({ state: 'connecting', attempt: this.attempt });
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.setState({ state: 'open' });
      for (const q of this.queued.splice(0)) {
        clearTimeout(q.timer);
        this.send(socket, q);
      }
    });
    socket.addEventListener('message', (e) => this.receive(e.data));
    // 'error' carries no detail in browsers; 'close' always follows it and does the work.
    socket.addEventListener('close', (e) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      for (const [id, pending] of this.inFlight) {
        this.inFlight.delete(id);
        pending.reject(lostCore(pending.method, 'The connection to the Flightdeck core dropped'));
      }
      this.scheduleReconnect(closeReason(e, this.missingTokenReason));
    });
  }

  private scheduleReconnect(reason: string): void {
    this.attempt += 1;
    const base = Math.min(maxBackoffMs, 250 * 2 ** Math.min(this.attempt, 6));
    // Jitter keeps several tabs from hammering a restarting host in step.
    const retryInMs = Math.round(base * (0.75 + Math.random() * 0.5));
    this.setState({ state: 'down', attempt: this.attempt, retryInMs, reason });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), retryInMs);
  }

  private send(socket: WebSocket, call: Omit<Queued, 'timer'>): void {
    const message: ClientMessage = { type: 'call', id: call.id, method: call.method, input: call.input };
    this.inFlight.set(call.id, { method: call.method, resolve: call.resolve, reject: call.reject });
    socket.send(JSON.stringify(message));
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (message.type === 'result') {
      const pending = this.inFlight.get(message.id);
      if (!pending) return;
      this.inFlight.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(asFlightdeckError(message.error));
    } else if (message.type === 'event') {
      for (const listener of this.eventListeners.get(message.event) ?? []) {
        try {
          listener(message.payload);
        } catch (e) {
          console.warn(`Listener for ${message.event} failed`, e);
        }
      }
    }
  }
}

function lostCore(method: string, what: string): FlightdeckError {
  return new FlightdeckError(
    'INTERNAL',
    `${what} before ${method} answered.`,
    'Check that `flightdeck serve` (or the Flightdeck app) is still running; the cockpit reconnects by itself. Run the action again once it has.',
  );
}

function closeReason(e: CloseEvent, missingTokenReason: string | undefined): string {
  if (missingTokenReason) return missingTokenReason;
  if (e.code === 1008 || e.code === 4401 || e.code === 4403) return e.reason || 'The core refused this page\'s token.';
  if (e.reason) return e.reason;
  // The host answers a bad token with a plain 403 before the upgrade, which browsers report as 1006.
  return e.code === 1006 ? 'The socket closed without a reason (the core stopped, is unreachable, or refused this page\'s token).' : `The socket closed (code ${e.code}).`;
}

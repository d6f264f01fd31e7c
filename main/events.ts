// The event bus every service publishes on and every transport forwards from.
import type { EventName, EventPayload } from '../shared/api';

export type AnyEvent = { [E in EventName]: { event: E; payload: EventPayload<E> } }[EventName];
export type EventListener = (e: AnyEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    const e = { event, payload } as AnyEvent;
    for (const listener of this.listeners) {
      try {
        listener(e);
      } catch {
        // A broken transport must not stop the others from hearing the event.
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

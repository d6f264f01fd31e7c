// The events drawn on the health charts' time axes (a migration's start and end, a rollback, a
// forced version): kept for the same 24 hours as the samples, newest last, and published as they
// happen so every open cockpit draws them at once.
import { randomBytes } from 'node:crypto';
import type { MonitorEvent } from '../../shared/monitor';
import type { EventBus } from '../events';

const keepMs = 24 * 3600_000;
const maxEvents = 5000;

export class EventMarkers {
  private readonly events: MonitorEvent[] = [];
  constructor(private readonly bus: EventBus) {}

  add(e: Omit<MonitorEvent, 'id' | 'at'> & { at?: number }): MonitorEvent {
    const event: MonitorEvent = { id: randomBytes(6).toString('hex'), at: e.at ?? Date.now(), profileId: e.profileId, profileName: e.profileName, kind: e.kind, label: e.label };
    this.events.push(event);
    const cutoff = Date.now() - keepMs;
    while (this.events.length > maxEvents || (this.events[0] && this.events[0].at < cutoff)) this.events.shift();
    this.bus.emit('monitor/marker', event);
    return event;
  }

  list(from = 0, to = Number.MAX_SAFE_INTEGER): MonitorEvent[] {
    return this.events.filter((e) => e.at >= from && e.at <= to);
  }
}

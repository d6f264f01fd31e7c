// Who is watching which target: each cockpit (a browser tab on the host, the app's window) starts
// and stops its own subscriptions, and a target is sampled while at least one of them watches it.
// One tab closing its Health view no longer stops the panels another tab is looking at, and a tab
// that goes away (closed, crashed, network gone) releases what it held.
import type { MonitorState } from '../../shared/monitor';
import type { MonitorService } from './monitor-service';

type StartOptions = Parameters<MonitorService['start']>[1];

export class MonitorSubscriptions {
  private readonly watchers = new Map<string, Set<string>>();
  constructor(private readonly monitor: MonitorService) {}

  async start(clientId: string, profileId: string, opts: StartOptions): Promise<MonitorState> {
    const state = await this.monitor.start(profileId, opts);
    const set = this.watchers.get(profileId) ?? new Set<string>();
    set.add(clientId);
    this.watchers.set(profileId, set);
    return state;
  }

  /** Stops watching; sampling stops only when nobody else watches the target. */
  async stop(clientId: string, profileId: string): Promise<MonitorState | undefined> {
    const set = this.watchers.get(profileId);
    set?.delete(clientId);
    if (set && set.size > 0) return this.monitor.states().find((s) => s.profileId === profileId);
    this.watchers.delete(profileId);
    return this.monitor.stop(profileId);
  }

  /** A client went away: everything it watched is released. */
  async release(clientId: string): Promise<void> {
    const held = [...this.watchers].filter(([, set]) => set.has(clientId)).map(([profileId]) => profileId);
    await Promise.all(held.map((profileId) => this.stop(clientId, profileId)));
  }

  watching(profileId: string): number {
    return this.watchers.get(profileId)?.size ?? 0;
  }
}

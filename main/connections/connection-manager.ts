// Open connections by profile: one pool (and tunnel) per profile, opened once even when asked
// twice at the same time, with its state published on the event bus.
import type { ConnectionState, TestResult, TunnelState } from '../../shared/api';
import { connectionLevelCodes, FlightdeckError } from '../../shared/errors';
import type { SecretKind } from '../../shared/profile';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { ProfileStore } from '../profiles/profile-store';
import type { SecretStore } from '../secrets/secret-store';
import { connectProfile, inspectConnection, type OpenConnection, type ResolvedSecrets } from './connect';
import { toFlightdeckError } from './errors';
import type { HostKeyPolicy } from './ssh/host-keys';

interface Entry {
  pending?: Promise<OpenConnection>;
  conn?: OpenConnection;
  state: ConnectionState;
}

export class ConnectionManager {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly deps: { profiles: ProfileStore; secrets: Pick<SecretStore, 'get'>; hostKeys: HostKeyPolicy; events: EventBus; log: Logger },
  ) {}

  stateOf(profileId: string): ConnectionState {
    return this.entries.get(profileId)?.state ?? { profileId, state: 'closed', since: new Date().toISOString() };
  }

  states(): ConnectionState[] {
    return [...this.entries.values()].map((e) => e.state);
  }

  private setState(profileId: string, patch: Partial<ConnectionState>): void {
    const entry = this.entries.get(profileId);
    if (!entry) return;
    const next = { ...entry.state, ...patch };
    if (patch.state && patch.state !== entry.state.state) next.since = new Date().toISOString();
    if (patch.state === 'open' || patch.state === 'connecting') delete next.lastError;
    entry.state = next;
    this.deps.events.emit('connections/state', next);
  }

  async resolveSecrets(profileId: string): Promise<ResolvedSecrets> {
    const get = (k: SecretKind) => this.deps.secrets.get(profileId, k);
    return {
      dbPassword: await get('db-password'),
      sshPassword: await get('ssh-password'),
      sshPassphrase: await get('ssh-key-passphrase'),
      jumpPassword: await get('jump-password'),
      jumpPassphrase: await get('jump-key-passphrase'),
    };
  }

  async open(profileId: string): Promise<OpenConnection> {
    const existing = this.entries.get(profileId);
    if (existing?.conn) return existing.conn;
    if (existing?.pending) return existing.pending;
    // The entry is registered before the first await, so a second open joins this one and a close
    // that arrives meanwhile finds something to close.
    const entry: Entry = { state: { profileId, state: 'connecting', since: new Date().toISOString() } };
    this.entries.set(profileId, entry);
    this.deps.events.emit('connections/state', entry.state);
    const current = () => this.entries.get(profileId) === entry;
    entry.pending = (async () => {
      const profile = await this.deps.profiles.get(profileId);
      return connectProfile(profile, await this.resolveSecrets(profileId), {
        hostKeys: this.deps.hostKeys,
        log: this.deps.log,
        role: 'console',
        onTunnelState: (tunnel: TunnelState) => {
          if (current()) this.setState(profileId, { tunnel });
        },
      });
    })();
    try {
      const conn = await entry.pending;
      if (!current()) {
        // Closed while it was opening: do not keep what just opened.
        await conn.close();
        throw new FlightdeckError('CANCELLED', 'The connection was closed while it was opening.', 'Open it again if you still need it.');
      }
      entry.conn = conn;
      delete entry.pending;
      this.setState(profileId, { state: 'open' });
      const p = conn.profile;
      this.deps.log.info('connections', `opened ${p.name} (${p.engine} ${p.host}:${p.port}${p.ssh ? ` via ssh ${p.ssh.host}` : ''})`);
      return conn;
    } catch (e) {
      const err = toFlightdeckError(e);
      delete entry.pending;
      if (current()) {
        this.setState(profileId, { state: 'error', lastError: err.toShape() });
        this.deps.log.warn('connections', `could not open ${profileId}: ${err.code} ${err.message}`);
      }
      throw err;
    }
  }

  async test(profileId: string, opts: { writeProbe: boolean }): Promise<TestResult> {
    const conn = await this.open(profileId);
    try {
      return await inspectConnection(conn, opts);
    } catch (e) {
      const err = toFlightdeckError(e);
      // A statement that failed says nothing about the pool others may be using; a dead
      // connection does, and is closed so the next call starts afresh.
      if (connectionLevelCodes.has(err.code) && this.entries.get(profileId)?.conn === conn) {
        this.setState(profileId, { state: 'error', lastError: err.toShape() });
        await this.close(profileId, { keepError: true });
      }
      throw err;
    }
  }

  async close(profileId: string, opts: { keepError?: boolean } = {}): Promise<ConnectionState> {
    const entry = this.entries.get(profileId);
    if (!entry) return this.stateOf(profileId);
    this.entries.delete(profileId);
    const conn = entry.conn ?? (await entry.pending?.catch(() => undefined));
    await conn?.close();
    const state: ConnectionState = {
      profileId,
      state: opts.keepError && entry.state.lastError ? 'error' : 'closed',
      since: new Date().toISOString(),
      ...(opts.keepError && entry.state.lastError ? { lastError: entry.state.lastError } : {}),
    };
    if (state.state === 'error') this.entries.set(profileId, { state });
    this.deps.events.emit('connections/state', state);
    return state;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.close(id)));
  }
}

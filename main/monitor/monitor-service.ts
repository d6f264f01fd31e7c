// Live health sampling: one dedicated monitoring session per target (application_name
// flightdeck/monitor, tight statement and lock timeouts, a pool of one), a sample every interval,
// history in ring buffers, and samples and states published on the event bus. A lost connection
// marks the target stale with the time of its last good sample, and sampling resumes by itself.
import type { MonitorState, PoolerPanel, Sample, Series, SeriesKey } from '../../shared/monitor';
import { connectionLevelCodes, FlightdeckError } from '../../shared/errors';
import type { Engine, Profile } from '../../shared/profile';
import type { EngineSession } from '../connections/adapter';
import { connectProfile, type OpenConnection, type ResolvedSecrets } from '../connections/connect';
import { toFlightdeckError } from '../connections/errors';
import { assertPoolerAttachable } from '../connections/pgbouncer-console';
import type { HostKeyPolicy } from '../connections/ssh/host-keys';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { ProfileStore } from '../profiles/profile-store';
import { HostSampler, readDataDirectory, sampleWithHost } from './host-sampler';
import { PgBouncerSampler } from './pgbouncer-sampler';
import type { Sampler, SamplerFactory } from './sampler';
import { SeriesStore } from './series-store';
import { defaultStorageIntervalMs, defaultStorageOptions, storageBudgetMs, StorageSchedule, type StorageReader, type StorageReaderFactory } from './storage';
import { storageReaders } from './storage-readers';

/** The monitor must never be the outage: it gives up on a statement or a lock long before a person would notice. */
export const monitorSessionLimits = { statementTimeoutMs: 2_000, lockTimeoutMs: 100 };

export interface MonitorOptions {
  intervalMs: number;
  longRunningMs: number;
  /** How often the storage panel (sizes, bloat, unused indexes) is read; 60 s unless given. */
  storageIntervalMs?: number;
}

interface Target {
  profileId: string;
  engine: Engine;
  opts: MonitorOptions;
  state: MonitorState;
  series: SeriesStore;
  latest?: Sample;
  conn?: OpenConnection;
  sampler?: Sampler;
  /** The storage panel's reader (on the monitoring session) and its slower schedule. */
  storageReader?: StorageReader;
  storage?: StorageSchedule;
  /** Host figures over the tunnel's SSH connection, when the profile goes through SSH. */
  host?: HostSampler;
  /** The PgBouncer attached to the profile: its pools, or why they cannot be read. */
  pooler?: PgBouncerSampler | PoolerPanel;
  timer?: NodeJS.Timeout;
  inFlight: boolean;
  stopped: boolean;
  /** Consecutive failures, for the reconnect backoff. */
  failures: number;
}

export class MonitorService {
  private readonly targets = new Map<string, Target>();

  constructor(
    private readonly deps: {
      profiles: ProfileStore;
      resolveSecrets: (profileId: string) => Promise<ResolvedSecrets>;
      hostKeys: HostKeyPolicy;
      events: EventBus;
      log: Logger;
      samplers: Partial<Record<Engine, SamplerFactory>>;
      /** Storage panel readers per engine (the built-in ones unless given). */
      storageReaders?: Partial<Record<Engine, StorageReaderFactory>>;
      /** Saved statement baselines, per profile (the Statements panel compares against them). */
      baselines?: { get(profileId: string): Promise<ReadonlyMap<string, number>> };
    },
  ) {}

  async start(profileId: string, opts: MonitorOptions): Promise<MonitorState> {
    const existing = this.targets.get(profileId);
    if (existing && !existing.stopped) {
      if (existing.opts.intervalMs === opts.intervalMs && existing.opts.longRunningMs === opts.longRunningMs && existing.opts.storageIntervalMs === opts.storageIntervalMs) return existing.state;
      await this.stop(profileId);
    }
    const profile = await this.deps.profiles.get(profileId);
    if (!this.deps.samplers[profile.engine]) {
      throw new FlightdeckError('ENGINE_UNSUPPORTED', `Live health panels are not available for ${profile.engine}.`, 'Use a PostgreSQL, MySQL/MariaDB or MongoDB profile for the health panels.');
    }
    const target: Target = {
      profileId,
      engine: profile.engine,
      opts,
      state: { profileId, state: 'starting', intervalMs: opts.intervalMs, lastGoodAt: null },
      series: existing?.series ?? new SeriesStore(),
      latest: existing?.latest,
      storage: new StorageSchedule(opts.storageIntervalMs ?? defaultStorageIntervalMs),
      inFlight: false,
      stopped: false,
      failures: 0,
    };
    this.targets.set(profileId, target);
    this.publish(target);
    this.schedule(target, 0);
    return target.state;
  }

  /** Adds samples taken elsewhere to a profile's history before its monitoring starts (the
   * monitor benchmark loads 24 h this way). The history's times only grow, so this is refused while
   * the target samples, and samples not newer than what the history already holds are skipped.
   * The target is left stopped; start() carries the history on, as it does after a stop. */
  async importHistory(profileId: string, samples: readonly Sample[]): Promise<number> {
    let target = this.targets.get(profileId);
    if (target && !target.stopped) {
      throw new FlightdeckError('INVALID_INPUT', 'History can only be imported while the profile is not being monitored.', 'Stop its health panels first.');
    }
    if (!target) {
      const profile = await this.deps.profiles.get(profileId);
      target = {
        profileId,
        engine: profile.engine,
        // Never used: start() replaces a stopped target's options with its own.
        opts: { intervalMs: 1000, longRunningMs: 60_000 },
        state: { profileId, state: 'stopped', intervalMs: 1000, lastGoodAt: null },
        series: new SeriesStore(),
        inFlight: false,
        stopped: true,
        failures: 0,
      };
      this.targets.set(profileId, target);
    }
    let added = 0;
    for (const sample of samples) {
      if (target.latest && sample.time <= target.latest.time) continue;
      target.series.add(sample);
      target.latest = sample;
      added++;
    }
    return added;
  }

  async stop(profileId: string): Promise<MonitorState | undefined> {
    const target = this.targets.get(profileId);
    if (!target) return undefined;
    target.stopped = true;
    clearTimeout(target.timer);
    await target.conn?.close();
    target.conn = undefined;
    target.sampler = undefined;
    target.host = undefined;
    await this.dropPooler(target);
    target.storageReader = undefined;
    this.setState(target, { state: 'stopped' });
    return target.state;
  }

  /** After a profile's settings change: a running target reconnects with the new ones, history kept. */
  async restart(profileId: string): Promise<void> {
    const target = this.targets.get(profileId);
    if (!target || target.stopped) return;
    await this.stop(profileId);
    await this.start(profileId, target.opts);
  }

  /** A deleted profile's target goes away with its history. */
  async forget(profileId: string): Promise<void> {
    await this.stop(profileId);
    this.targets.delete(profileId);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.targets.keys()].map((id) => this.stop(id)));
  }

  states(): MonitorState[] {
    return [...this.targets.values()].map((t) => t.state);
  }

  latest(profileId: string): Sample | null {
    return this.targets.get(profileId)?.latest ?? null;
  }

  series(profileId: string, keys: readonly SeriesKey[], opts: { from?: number; to?: number; points: number }): Series[] {
    const target = this.targets.get(profileId);
    return target ? target.series.read(keys, opts) : keys.map((key) => ({ key, points: [] }));
  }

  csv(profileId: string, keys: readonly SeriesKey[], from: number, to: number): string {
    const target = this.targets.get(profileId);
    if (!target) throw new FlightdeckError('NOT_FOUND', 'This profile is not being monitored, so there is no history to export.', 'Open its health panels first.');
    // One row per sample time, one column per series, at full resolution.
    const columns = keys.map((k) => new Map(target.series.raw(k, from, to)));
    const times = [...new Set(columns.flatMap((c) => [...c.keys()]))].sort((a, b) => a - b);
    const lines = [['time', ...keys].join(',')];
    for (const t of times) lines.push([new Date(t).toISOString(), ...columns.map((c) => (c.has(t) ? String(c.get(t)) : ''))].join(','));
    return `${lines.join('\n')}\n`;
  }

  /** The target's monitoring session, for actions on the server it watches (cancel, terminate). */
  session(profileId: string): EngineSession {
    const conn = this.targets.get(profileId)?.conn;
    if (!conn) {
      throw new FlightdeckError('NOT_FOUND', 'This profile\'s health panels are not connected right now.', 'Wait for the panels to show live data, then try again.');
    }
    return conn.session;
  }

  private schedule(target: Target, delayMs: number): void {
    if (target.stopped) return;
    target.timer = setTimeout(() => void this.tick(target), delayMs);
    target.timer.unref?.();
  }

  private async tick(target: Target): Promise<void> {
    if (target.stopped) return;
    const started = Date.now();
    // Never two samples of one target at once: a slow sample delays the next instead of piling up.
    if (target.inFlight) return this.schedule(target, target.opts.intervalMs);
    target.inFlight = true;
    try {
      if (!target.sampler) await this.connect(target);
      // The host and pooler readings run beside the database sample and never delay it.
      const pooler = target.pooler;
      if (pooler instanceof PgBouncerSampler) void pooler.refresh();
      const sample = await sampleWithHost(() => target.sampler!.sample(), target.host);
      if (pooler) sample.pooler = pooler instanceof PgBouncerSampler ? pooler.panel() : pooler;
      if (target.stopped) return;
      // The last storage reading (taken on its own cadence, between samples) rides along.
      const storage = target.storage?.latest();
      if (storage) sample.storage = storage;
      target.latest = sample;
      target.series.add(sample);
      target.failures = 0;
      this.deps.events.emit('monitor/sample', sample);
      if (target.state.state !== 'live' || target.state.lastError) this.setState(target, { state: 'live', lastGoodAt: sample.time, lastError: undefined });
      else target.state = { ...target.state, lastGoodAt: sample.time };
    } catch (e) {
      if (target.stopped) return;
      const err = toFlightdeckError(e);
      target.failures++;
      if (connectionLevelCodes.has(err.code) || !target.sampler) {
        await target.conn?.close().catch(() => undefined);
        target.conn = undefined;
        target.sampler = undefined;
        target.host = undefined;
        await this.dropPooler(target);
        target.storageReader = undefined;
      }
      this.deps.log.warn('monitor', `${target.profileId}: sample failed (${err.code}): ${err.message}`);
      this.setState(target, { state: 'stale', lastError: { code: err.code, message: err.message, hint: err.hint } });
    } finally {
      target.inFlight = false;
    }
    // After failures, back off (up to 10 intervals) so a dead server is not hammered.
    const backoff = target.failures ? Math.min(10, 2 ** (target.failures - 1)) : 1;
    const next = target.opts.intervalMs * backoff - (Date.now() - started);
    this.schedule(target, Math.max(0, next));
    void this.betweenSamples(target, Math.max(0, next));
  }

  /** The costly readings, one after the other on the monitoring session in the gap before the next
   * sample: the sampler's own (pg_stat_statements), then storage in whatever time is left. */
  private async betweenSamples(target: Target, untilNextMs: number): Promise<void> {
    const started = Date.now();
    const sampler = target.sampler;
    if (sampler?.between && target.failures === 0 && !target.stopped) await sampler.between(storageBudgetMs(untilNextMs, monitorSessionLimits.statementTimeoutMs));
    this.readStorage(target, Math.max(0, untilNextMs - (Date.now() - started)));
  }

  private async connect(target: Target): Promise<void> {
    const profile = await this.deps.profiles.get(target.profileId);
    const conn = await connectProfile(profile, await this.deps.resolveSecrets(target.profileId), {
      hostKeys: this.deps.hostKeys,
      log: this.deps.log,
      role: 'monitor',
      poolSize: 1,
      ...monitorSessionLimits,
    });
    if (target.stopped) {
      await conn.close();
      return;
    }
    target.conn = conn;
    const factory = this.deps.samplers[profile.engine]!;
    const baseline = await this.deps.baselines?.get(target.profileId);
    target.sampler = factory(conn.session, { profileId: target.profileId, longRunningMs: target.opts.longRunningMs, topStatements: 20, ...(baseline ? { baseline } : {}) });
    const storageFactory = (this.deps.storageReaders ?? storageReaders)[profile.engine];
    target.storageReader = storageFactory?.(conn.session, defaultStorageOptions);
    const tunnel = conn.tunnel;
    if (tunnel && profile.ssh) {
      target.host = new HostSampler({
        host: profile.ssh.host,
        run: (command, timeoutMs) => tunnel.exec(command, timeoutMs),
        dataDir: await readDataDirectory(conn.session),
        log: this.deps.log,
        profileId: target.profileId,
      });
    }
    if (profile.engine === 'postgres' && profile.pgbouncerProfileId) target.pooler = await this.openPooler(profile);
  }

  /** The sampler of the PgBouncer attached to a PostgreSQL profile, or a panel saying why there is none. */
  private async openPooler(profile: Profile): Promise<PgBouncerSampler | PoolerPanel> {
    const id = profile.pgbouncerProfileId!;
    try {
      await assertPoolerAttachable(profile, (x) => this.deps.profiles.get(x));
      const pooler = await this.deps.profiles.get(id);
      const secrets = await this.deps.resolveSecrets(id);
      return new PgBouncerSampler({ console: { profile: pooler, secrets, hostKeys: this.deps.hostKeys }, database: profile.database, log: this.deps.log, profileId: profile.id });
    } catch (e) {
      const err = toFlightdeckError(e);
      this.deps.log.warn('monitor', `${profile.id}: PgBouncer pools not read: ${err.message}`);
      return { address: `profile ${id}`, readAt: null, error: { message: err.message, hint: err.hint }, pools: [], otherPools: 0, paused: false, disabled: false };
    }
  }

  private async dropPooler(target: Target): Promise<void> {
    const pooler = target.pooler;
    target.pooler = undefined;
    if (pooler instanceof PgBouncerSampler) await pooler.close();
  }

  /** Reads the storage panel when it is due, on the monitoring session in the time left before the
   * next sample and time-boxed to it (see storage.ts): never beside a sample, never inside its time. */
  private readStorage(target: Target, untilNextMs: number): void {
    const reader = target.storageReader;
    if (target.stopped || !reader || !target.storage?.due() || target.failures > 0) return;
    void target.storage.readIfDue(reader, untilNextMs, monitorSessionLimits.statementTimeoutMs);
  }

  private setState(target: Target, patch: Partial<MonitorState>): void {
    const next = { ...target.state, ...patch };
    if (patch.lastError === undefined && 'lastError' in patch) delete next.lastError;
    target.state = next;
    this.deps.events.emit('monitor/state', next);
  }

  private publish(target: Target): void {
    this.deps.events.emit('monitor/state', target.state);
  }
}

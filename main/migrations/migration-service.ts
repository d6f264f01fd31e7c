// The migration runner for the cockpit: reads a set, shows a database's status against it, and runs
// up / down / goto / force on a profile, one run per profile at a time, streaming progress and log
// lines as events. Production runs need the profile's name typed as confirmation.
import { FlightdeckError } from '../../shared/errors';
import type { MigrationSetSummary, MigrationStatus, RunResult } from '../../shared/migrations';
import type { Profile } from '../../shared/profile';
import { connectProfile, type OpenConnection, type ResolvedSecrets } from '../connections/connect';
import type { HostKeyPolicy } from '../connections/ssh/host-keys';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { EventMarkers } from '../monitor/event-markers';
import type { ProfileStore } from '../profiles/profile-store';
import { readMigrationSet, summarise } from './migration-set';
import { forceVersion, migrationStatus, runMigrations, type RunAction } from './runner';

export interface MigrationServiceDeps {
  profiles: ProfileStore;
  resolveSecrets: (profileId: string) => Promise<ResolvedSecrets>;
  hostKeys: HostKeyPolicy;
  events: EventBus;
  log: Logger;
  journalDir: string;
  /** Where the charts' event markers go (a run's start and end, a rollback, a force). */
  markers?: EventMarkers;
}

export interface RunRequest {
  profileId: string;
  dir: string;
  action: RunAction;
  lockTimeoutMs?: number;
  confirm?: string;
}

export class MigrationService {
  private readonly running = new Map<string, AbortController>();
  constructor(private readonly deps: MigrationServiceDeps) {}

  private async open(profile: Profile, lockTimeoutMs = 200): Promise<OpenConnection> {
    return connectProfile(profile, await this.deps.resolveSecrets(profile.id), { hostKeys: this.deps.hostKeys, log: this.deps.log, role: 'migration', poolSize: 2, lockTimeoutMs, statementTimeoutMs: 0, reconnect: { maxAttempts: 0 } });
  }

  private confirmProduction(profile: Profile, confirm: string | undefined, what: string): void {
    if (profile.environment === 'production' && confirm !== profile.name) {
      throw new FlightdeckError('FORBIDDEN', `${what} on production needs a typed confirmation.`, `Type the profile name "${profile.name}" to confirm.`);
    }
  }

  async inspect(profileId: string, dir: string): Promise<{ set: MigrationSetSummary; status: MigrationStatus }> {
    const profile = await this.deps.profiles.get(profileId);
    const set = await readMigrationSet(dir);
    const conn = await this.open(profile);
    try {
      return { set: summarise(set), status: await migrationStatus(conn, set) };
    } finally {
      await conn.close();
    }
  }

  async run(req: RunRequest): Promise<RunResult> {
    const profile = await this.deps.profiles.get(req.profileId);
    this.confirmProduction(profile, req.confirm, 'Running migrations');
    if (this.running.has(profile.id)) throw new FlightdeckError('RUNNER_LOCKED', `A migration run on ${profile.name} is already under way in this window.`, 'Wait for it to finish, or cancel it.');
    const abort = new AbortController();
    this.running.set(profile.id, abort);
    const taskId = `migrate:${profile.id}`;
    const label = `Migrations on ${profile.name}`;
    const rollback = req.action.kind === 'down';
    const what = req.action.kind === 'up' ? `up${req.action.steps ? ` ${req.action.steps}` : ''}` : req.action.kind === 'down' ? `down ${req.action.steps}` : `goto ${req.action.version}`;
    let started = false;
    const mark = (kind: 'start' | 'end' | 'failed', text: string) =>
      this.deps.markers?.add({ profileId: profile.id, profileName: profile.name, kind: `${rollback ? 'rollback' : 'migration'}-${kind}`, label: text });
    try {
      const set = await readMigrationSet(req.dir);
      const conn = await this.open(profile, req.lockTimeoutMs);
      try {
        this.deps.events.emit('task/progress', { taskId, label, fraction: 0, state: 'running' });
        mark('start', `${rollback ? 'Rollback' : 'Migration'} ${what} started`);
        started = true;
        const result = await runMigrations(conn, set, req.action, {
          journalDir: this.deps.journalDir,
          lockTimeoutMs: req.lockTimeoutMs ?? 200,
          signal: abort.signal,
          onLog: (level, message) => this.deps.log[level === 'warn' ? 'warn' : level === 'error' ? 'error' : 'info']('migrate', `${profile.name}: ${message}`),
          onProgress: (p) =>
            this.deps.events.emit('task/progress', { taskId, label: `${label}: ${p.label}`, fraction: p.fraction, rate: { value: Math.round(p.ratePerSec * 10) / 10, unit: profile.engine === 'mongodb' ? 'migrations/s' : 'statements/s' }, ...(p.etaMs !== null ? { etaMs: Math.round(p.etaMs) } : {}), state: 'running' }),
        });
        this.deps.events.emit('task/progress', { taskId, label, fraction: 1, state: 'done', message: `version ${result.fromVersion ?? 0} → ${result.toVersion ?? 0}` });
        mark('end', `${rollback ? 'Rollback' : 'Migration'} done: version ${result.fromVersion ?? 0} → ${result.toVersion ?? 0}`);
        return result;
      } finally {
        await conn.close();
      }
    } catch (e) {
      const err = e instanceof FlightdeckError ? e : new FlightdeckError('INTERNAL', (e as Error).message, 'This is a bug in Flightdeck.');
      this.deps.events.emit('task/progress', { taskId, label, fraction: null, state: err.code === 'CANCELLED' ? 'cancelled' : 'failed', message: err.message });
      if (started) mark('failed', `${rollback ? 'Rollback' : 'Migration'} ${err.code === 'CANCELLED' ? 'cancelled' : `failed (${err.code})`}`);
      throw err;
    } finally {
      this.running.delete(profile.id);
    }
  }

  cancel(profileId: string): boolean {
    const run = this.running.get(profileId);
    run?.abort();
    return Boolean(run);
  }

  async force(profileId: string, dir: string, version: number, confirm?: string): Promise<{ version: number | null; previous: { version: number | null; dirty: boolean } }> {
    const profile = await this.deps.profiles.get(profileId);
    this.confirmProduction(profile, confirm, 'Forcing the migration version');
    const set = await readMigrationSet(dir);
    const conn = await this.open(profile);
    try {
      const r = await forceVersion(conn, set, version, { journalDir: this.deps.journalDir, onLog: (_l, m) => this.deps.log.info('migrate', `${profile.name}: ${m}`) });
      this.deps.markers?.add({ profileId: profile.id, profileName: profile.name, kind: 'force', label: `Version forced to ${version} (was ${r.previous.version ?? 0}${r.previous.dirty ? ', dirty' : ''})` });
      return { version: r.version, previous: r.previous };
    } finally {
      await conn.close();
    }
  }

  async stopAll(): Promise<void> {
    for (const a of this.running.values()) a.abort();
  }
}

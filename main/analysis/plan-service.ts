// Phase 1 for the cockpit: builds the plan of a migration folder for a production profile (sizes
// from production, the trace on a scratch copy of staging), and reads a file of the set so a
// finding can be shown at its line.
import fs from 'node:fs/promises';
import path from 'node:path';
import { FlightdeckError } from '../../shared/errors';
import type { DowntimeMode, MigrationRisk, PlanReport } from '../../shared/plan';
import type { Profile } from '../../shared/profile';
import { connectProfile, type OpenConnection, type ResolvedSecrets } from '../connections/connect';
import type { HostKeyPolicy } from '../connections/ssh/host-keys';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import { readMigrationSet } from '../migrations/migration-set';
import type { ProfileStore } from '../profiles/profile-store';
import { buildPlan } from './build-plan';

export interface PlanServiceDeps {
  profiles: ProfileStore;
  resolveSecrets: (profileId: string) => Promise<ResolvedSecrets>;
  hostKeys: HostKeyPolicy;
  events: EventBus;
  log: Logger;
}

export interface PlanRequest {
  productionId: string;
  dir: string;
  stagingId?: string;
  trace?: boolean;
  risk?: MigrationRisk;
  downtime?: DowntimeMode;
}

export class PlanService {
  constructor(private readonly deps: PlanServiceDeps) {}

  private async open(profile: Profile): Promise<OpenConnection> {
    return connectProfile(profile, await this.deps.resolveSecrets(profile.id), { hostKeys: this.deps.hostKeys, log: this.deps.log, role: 'connect', poolSize: 2, statementTimeoutMs: 60_000, lockTimeoutMs: 2000, reconnect: { maxAttempts: 0 } });
  }

  async build(req: PlanRequest): Promise<PlanReport> {
    const production = await this.deps.profiles.get(req.productionId);
    const staging = req.stagingId ? await this.deps.profiles.get(req.stagingId) : undefined;
    if (req.trace && !staging) throw new FlightdeckError('INVALID_INPUT', 'The lock trace needs a staging profile: it runs on a scratch copy of staging\'s schema.', 'Pick the staging profile, or analyse without the trace.');
    const set = await readMigrationSet(req.dir);
    const opened: OpenConnection[] = [];
    const taskId = `plan:${production.id}`;
    try {
      const prodConn = await this.open(production);
      opened.push(prodConn);
      const stagingConn = req.trace && staging ? await this.open(staging) : undefined;
      if (stagingConn) opened.push(stagingConn);
      const stagingPassword = staging ? (await this.deps.resolveSecrets(staging.id)).dbPassword : undefined;
      const report = await buildPlan(set, {
        engine: production.engine,
        production: prodConn,
        ...(stagingConn ? { staging: stagingConn, trace: true, hostKeys: this.deps.hostKeys } : {}),
        ...(stagingPassword !== undefined ? { stagingPassword } : {}),
        risk: req.risk ?? 'medium',
        downtime: req.downtime ?? 'zero-downtime',
        onProgress: (label, done, total) => this.deps.events.emit('task/progress', { taskId, label: `Plan: ${label}`, fraction: total ? done / total : null, state: 'running' }),
      });
      this.deps.events.emit('task/progress', { taskId, label: 'Plan ready', fraction: 1, state: 'done' });
      return report;
    } catch (e) {
      this.deps.events.emit('task/progress', { taskId, label: 'Plan failed', fraction: null, state: 'failed', message: (e as Error).message });
      throw e;
    } finally {
      await Promise.all(opened.map((c) => c.close()));
    }
  }

  /** A file of the set, by its name in the folder (nothing outside the folder is served). */
  async file(dir: string, name: string): Promise<string> {
    if (name !== path.basename(name) || name.startsWith('.')) throw new FlightdeckError('INVALID_INPUT', `"${name}" is not a file name of the set.`, 'Pick a file listed in the plan.');
    const set = await readMigrationSet(dir);
    const f = set.migrations.flatMap((m) => [m.up, m.down]).find((x) => x?.file === name);
    if (!f) throw new FlightdeckError('NOT_FOUND', `${name} is not a migration of ${set.dir}.`, 'Pick a file listed in the plan.');
    return fs.readFile(f.absPath, 'utf8');
  }
}

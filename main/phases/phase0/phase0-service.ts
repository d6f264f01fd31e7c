// Phase 0 for the cockpit: runs the checks for a production profile (with its staging profile and
// migration folder), publishes the report after every check, re-runs a single check, and records
// attestations and accepted risks, recomputing the gate each time. The last report of each
// production profile is kept for the window.
import path from 'node:path';
import { decideGate, type CheckResult, type Phase0Report } from '../../../shared/checks';
import { FlightdeckError } from '../../../shared/errors';
import type { Profile } from '../../../shared/profile';
import { connectProfile, type OpenConnection, type ResolvedSecrets } from '../../connections/connect';
import type { HostKeyPolicy } from '../../connections/ssh/host-keys';
import type { EventBus } from '../../events';
import type { Logger } from '../../log';
import { readMigrationSet, type MigrationSet } from '../../migrations/migration-set';
import type { ProfileStore } from '../../profiles/profile-store';
import { assertPgbouncerConsoleProfile } from '../../connections/pgbouncer-console';
import { defaultPhase0Settings, type Phase0Context, type Phase0Settings } from './context';
import { phase0Checks, runPhase0 } from './run-phase0';

export interface Phase0ServiceDeps {
  profiles: ProfileStore;
  resolveSecrets: (profileId: string) => Promise<ResolvedSecrets>;
  hostKeys: HostKeyPolicy;
  events: EventBus;
  log: Logger;
  dataDir: string;
}

export interface Phase0Request {
  productionId: string;
  stagingId?: string;
  migrationsDir?: string;
  backupDir?: string;
  longRunningMs?: number;
  /** A saved profile for PgBouncer's admin console (database `pgbouncer`) in front of production. */
  pgbouncerProfileId?: string;
  only?: string[];
}

interface WindowState {
  request: Phase0Request;
  report: Phase0Report | null;
  attestations: Phase0Settings['attestations'];
  accepted: Phase0Settings['accepted'];
}

export class Phase0Service {
  private readonly windows = new Map<string, WindowState>();
  private readonly running = new Map<string, AbortController>();
  constructor(private readonly deps: Phase0ServiceDeps) {}

  report(productionId: string): Phase0Report | null {
    return this.windows.get(productionId)?.report ?? null;
  }

  private async open(profile: Profile): Promise<OpenConnection> {
    return connectProfile(profile, await this.deps.resolveSecrets(profile.id), { hostKeys: this.deps.hostKeys, log: this.deps.log, role: 'connect', poolSize: 3, statementTimeoutMs: 300_000, lockTimeoutMs: 2000, reconnect: { maxAttempts: 0 } });
  }

  async run(req: Phase0Request): Promise<Phase0Report> {
    const production = await this.deps.profiles.get(req.productionId);
    const staging = req.stagingId ? await this.deps.profiles.get(req.stagingId) : undefined;
    if (staging && staging.engine !== production.engine) throw new FlightdeckError('INVALID_INPUT', `Staging (${staging.engine}) and production (${production.engine}) are different engines.`, 'Pick a staging profile of the same engine.');
    if (staging && staging.id === production.id) throw new FlightdeckError('INVALID_INPUT', 'Staging and production are the same profile.', 'Pick a separate staging profile.');
    // The request's PgBouncer, else the one attached to the production profile.
    const poolerId = req.pgbouncerProfileId ?? production.pgbouncerProfileId;
    const pooler = poolerId ? await this.deps.profiles.get(poolerId) : undefined;
    if (pooler) {
      if (production.engine !== 'postgres') throw new FlightdeckError('INVALID_INPUT', `PgBouncer pools PostgreSQL connections; ${production.name} is ${production.engine}.`, 'Leave the PgBouncer profile empty for this database.');
      assertPgbouncerConsoleProfile(pooler, `The PgBouncer profile "${pooler.name}"`);
    }
    if (this.running.has(production.id)) throw new FlightdeckError('INVALID_INPUT', `Phase 0 for ${production.name} is already running.`, 'Wait for it to finish.');
    const previousWindow = this.windows.get(production.id);
    const sameTargets = previousWindow && previousWindow.request.stagingId === req.stagingId && previousWindow.request.migrationsDir === req.migrationsDir;
    const window: WindowState = {
      request: req.only && previousWindow ? { ...previousWindow.request, ...req, only: undefined } : { ...req },
      report: previousWindow?.report ?? null,
      attestations: previousWindow?.attestations ?? {},
      accepted: sameTargets ? previousWindow.accepted : {},
    };
    this.windows.set(production.id, window);
    const abort = new AbortController();
    this.running.set(production.id, abort);
    const opened: OpenConnection[] = [];
    try {
      let set: MigrationSet | undefined;
      let setError: FlightdeckError | undefined;
      if (window.request.migrationsDir) {
        try {
          set = await readMigrationSet(window.request.migrationsDir);
        } catch (e) {
          if (!(e instanceof FlightdeckError)) throw e;
          setError = e;
        }
      } else setError = new FlightdeckError('INVALID_INPUT', 'No migrations folder was given.', 'Enter the folder that holds the migration files.');
      const prodConn = await this.open(production);
      opened.push(prodConn);
      const stagingConn = staging ? await this.open(staging) : undefined;
      if (stagingConn) opened.push(stagingConn);
      const productionPassword = (await this.deps.resolveSecrets(production.id)).dbPassword;
      const ctx: Phase0Context = {
        production: prodConn,
        ...(productionPassword !== undefined ? { productionPassword } : {}),
        ...(stagingConn ? { staging: stagingConn } : {}),
        ...(set ? { set } : {}),
        ...(setError ? { setError } : {}),
        signal: abort.signal,
        settings: {
          ...defaultPhase0Settings,
          ...(window.request.backupDir ? { backupDir: window.request.backupDir } : {}),
          ...(window.request.longRunningMs ? { longRunningMs: window.request.longRunningMs } : {}),
          // Its stored password goes only to the pooler's console, when the check connects.
          ...(pooler ? { pgbouncer: { profile: pooler, secrets: await this.deps.resolveSecrets(pooler.id), hostKeys: this.deps.hostKeys } } : {}),
          dumpDir: path.join(this.deps.dataDir, 'backups'),
          baselineDir: path.join(this.deps.dataDir, 'baselines'),
          attestations: window.attestations,
          accepted: window.accepted,
        },
      };
      const publish = (checks: CheckResult[]) => {
        const report: Phase0Report = {
          phase: 0,
          startedAt: window.report?.startedAt ?? new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          production: `${production.name} (${production.engine} ${production.host}:${production.port}/${production.database})`,
          staging: staging ? `${staging.name} (${staging.engine} ${staging.host}:${staging.port}/${staging.database})` : null,
          migrations: set?.dir ?? window.request.migrationsDir ?? null,
          checks,
          gate: decideGate(checks),
        };
        window.report = report;
        this.deps.events.emit('phase0/report', { productionId: production.id, report });
      };
      const only = req.only;
      // Show every check as queued at once, then each as it runs.
      const current = new Map<string, CheckResult>((only ? (window.report?.checks ?? []) : []).map((c) => [c.id, c]));
      for (const def of phase0Checks) if (!only || only.includes(def.id)) current.set(def.id, { id: def.id, phase: 0, title: def.title, severity: def.severity, status: 'queued', summary: 'Waiting to run.', evidence: { facts: [], tables: [], files: [] } });
      const ordered = () => phase0Checks.map((d) => current.get(d.id)).filter((c): c is CheckResult => Boolean(c));
      publish(ordered());
      const final = await runPhase0(ctx, {
        ...(only ? { only } : {}),
        previous: ordered(),
        onUpdate: (c) => {
          current.set(c.id, c);
          publish(ordered());
        },
      });
      publish(final.checks);
      return window.report!;
    } finally {
      this.running.delete(production.id);
      await Promise.all(opened.map((c) => c.close()));
    }
  }

  /** A person confirms an attestation item: their name and the time go into the record. */
  attest(productionId: string, checkId: string, by: string): Phase0Report {
    const window = this.requireWindow(productionId);
    const check = window.report!.checks.find((c) => c.id === checkId);
    if (!check || !checkId.startsWith('attest-')) throw new FlightdeckError('INVALID_INPUT', `"${checkId}" is not an item a person confirms.`, `Attestations: ${phase0Checks.filter((c) => c.id.startsWith('attest-')).map((c) => c.id).join(', ')}.`);
    const at = new Date().toISOString();
    window.attestations[checkId] = { by, at };
    Object.assign(check, { status: 'pass', summary: `Confirmed by ${by} at ${at}.`, attested: { by, at }, evidence: { facts: [['confirmed by', by], ['at', at]], tables: [], files: [] } });
    return this.republish(productionId, window);
  }

  /** Accepts a failed medium check with a written reason (WORKFLOW.md: document and proceed with caution). */
  accept(productionId: string, checkId: string, reason: string, by: string): Phase0Report {
    const window = this.requireWindow(productionId);
    const check = window.report!.checks.find((c) => c.id === checkId);
    if (!check) throw new FlightdeckError('NOT_FOUND', `No check "${checkId}" in the last Phase 0 run.`, 'Run Phase 0 first.');
    if (check.severity !== 'medium') throw new FlightdeckError('FORBIDDEN', `"${check.title}" is ${check.severity}: only medium failures may be accepted.`, check.severity === 'critical' ? 'A critical failure stops the window: fix it.' : 'A high failure must be fixed before proceeding.');
    if (check.status !== 'fail' && check.status !== 'error') throw new FlightdeckError('INVALID_INPUT', `"${check.title}" did not fail; there is nothing to accept.`, 'Accept only failed checks.');
    const accepted = { by, at: new Date().toISOString(), reason };
    window.accepted[checkId] = accepted;
    check.accepted = accepted;
    return this.republish(productionId, window);
  }

  private requireWindow(productionId: string): WindowState {
    const window = this.windows.get(productionId);
    if (!window?.report) throw new FlightdeckError('NOT_FOUND', 'Phase 0 has not run for this profile yet.', 'Run Phase 0 first.');
    return window;
  }

  private republish(productionId: string, window: WindowState): Phase0Report {
    const report = { ...window.report!, gate: decideGate(window.report!.checks) };
    window.report = report;
    this.deps.events.emit('phase0/report', { productionId, report });
    return report;
  }

  async stopAll(): Promise<void> {
    for (const a of this.running.values()) a.abort();
  }
}

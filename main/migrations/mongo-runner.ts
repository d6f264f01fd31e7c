// The migration runner for migrate-mongo sets on MongoDB: status, up [N], down [N], goto V and
// force V, with the same results, journal and refusals as the SQL runner.
//
// What is applied is what migrate-mongo says: a file is applied when the changelog collection has an
// entry for its name, so up applies every pending file in order (an older file that arrived late
// too, as migrate-mongo does) and down reverts the applied files from the newest. The "version" is
// the newest applied file's timestamp.
//
// MongoDB has no transactions around DDL and a migration is JavaScript, not statements: a function
// that throws half-way leaves whatever it did in effect, and nobody but the DBA can tell what that
// was. So each step is recorded 'running' before its function is called and done or failed after;
// an open step makes the database dirty, and runs are refused until `force` settles it.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { Db, MongoClient, ObjectId } from 'mongodb';
import { FlightdeckError } from '../../shared/errors';
import type { FailureRecord, MigrationStatus, RunResult, RunStep } from '../../shared/migrations';
import { isMongoSession } from '../connections/adapter';
import type { OpenConnection } from '../connections/connect';
import { RunJournal } from '../journal/run-journal';
import { assertRunnable, type Migration, type MigrationSet } from './migration-set';
import { MongoMigrationHistory, versionOfFileName, type ChangelogEntry, type OpenStep } from './mongo-history';
import { describeMongoHolder, MongoRunnerLock, type MongoLockTimings } from './mongo-lock';
import { describeMigrationError, invokeMigration, loadMongoMigration, sourceLine, type LoadedMongoMigration, type MigrationFunction } from './mongo-migration-file';
import type { RunAction, RunOptions } from './runner';

/** As runner.ts (not imported from there: runner.ts imports this module). */
const defaultRunnerLockWaitMs = 10_000;

/** Test seam: shorter lock lifetimes. */
export interface MongoRunOptions extends RunOptions {
  lockTimings?: MongoLockTimings;
}

function mongoOf(conn: OpenConnection): { client: MongoClient; db: Db } {
  if (!isMongoSession(conn.session)) throw new FlightdeckError('INTERNAL', `The MongoDB runner was given a ${conn.session.engine} connection.`, 'This is a bug in Flightdeck.');
  return conn.session.mongo();
}

function assertMongoSet(set: MigrationSet): void {
  if (set.format !== null && set.format !== 'migrate-mongo') {
    throw new FlightdeckError('MIGRATION_SET_INVALID', `${set.dir} holds SQL migrations (${set.format}); MongoDB runs migrate-mongo sets ({timestamp}-{name}.js).`, 'Point --migrations at the folder of migrate-mongo files, or use a postgres:// or mysql:// target for this set.');
  }
}

function defaultAppliedBy(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return `${user}@${os.hostname()}`;
}

const cmd = 'flightdeck migrate';

interface MongoState {
  status: MigrationStatus;
  changelog: ChangelogEntry[];
  /** Set files with a changelog entry. */
  appliedFiles: Set<string>;
}

async function readState(history: MongoMigrationHistory, set: MigrationSet): Promise<MongoState> {
  const changelog = await history.changelog();
  const applied = await history.applied();
  const open = await history.openStep();
  const byFile = new Map<string, ChangelogEntry>();
  // With useFileHash a file can have several entries; the newest one describes it.
  for (const e of changelog) byFile.set(e.fileName, e);
  const inSet = new Map(set.migrations.filter((m) => m.up).map((m) => [m.up!.file, m]));
  const appliedRows = new Map(applied.map((a) => [a._id, a]));
  const appliedMigrations = set.migrations.filter((m) => m.up && byFile.has(m.up.file));
  const appliedFiles = new Set(appliedMigrations.map((m) => m.up!.file));
  const version = appliedMigrations.length ? appliedMigrations[appliedMigrations.length - 1]!.version : null;
  const dirtyVersion = open?.version;

  const rowFor = (m: Migration) => {
    const row = appliedRows.get(m.version);
    const entry = byFile.get(m.up!.file);
    // Flightdeck's row describes this application only if it was written with this changelog entry.
    return row && entry?.appliedAt && row.name === m.up!.file && new Date(row.changelogAppliedAt).getTime() === new Date(entry.appliedAt).getTime() ? row : null;
  };
  const drift: MigrationStatus['drift'] = [];
  for (const m of appliedMigrations) {
    const row = rowFor(m);
    if (row) {
      if (row.checksum !== m.up!.checksum) drift.push({ version: m.version, file: m.up!.file, appliedChecksum: row.checksum, fileChecksum: m.up!.checksum });
      continue;
    }
    // Applied by migrate-mongo with useFileHash: its hash is of the bytes on disk.
    const hash = byFile.get(m.up!.file)?.fileHash;
    if (hash) {
      const now = await fileSha256(m.up!.absPath);
      if (now && now !== hash) drift.push({ version: m.version, file: m.up!.file, appliedChecksum: hash, fileChecksum: now });
    }
  }
  const unknownApplied = [...new Set(changelog.filter((e) => !inSet.has(e.fileName)).map((e) => versionOfFileName(e.fileName)).filter((v): v is number => v !== null))].sort((a, b) => a - b);

  const status: MigrationStatus = {
    engine: 'mongodb',
    version,
    dirty: open !== null,
    failure: open ? (open.record ?? interruptedRecord(open, byFile.has(open.file), set)) : null,
    // The open step's version is neither applied nor pending: its record says what is in effect.
    applied: appliedMigrations
      .filter((m) => m.version !== dirtyVersion)
      .map((m) => {
        const row = rowFor(m);
        const entry = byFile.get(m.up!.file)!;
        const at = entry.appliedAt ? new Date(entry.appliedAt) : null;
        return { version: m.version, name: m.up!.file, checksum: row?.checksum ?? null, appliedAt: at && !Number.isNaN(at.getTime()) ? at.toISOString() : null, durationMs: row?.durationMs ?? null };
      }),
    pending: set.migrations.filter((m) => m.up && !byFile.has(m.up.file) && m.version !== dirtyVersion).map((m) => ({ version: m.version, title: m.title })),
    drift,
    unknownApplied,
    flyway: null,
  };
  return { status, changelog, appliedFiles };
}

/** sha256 of the bytes on disk, as migrate-mongo's useFileHash computes it. */
async function fileSha256(absPath: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await fs.readFile(absPath)).digest('hex');
  } catch {
    return null;
  }
}

/** The set's version just below `version` (0 when none), for "undo it and force …". */
function versionBelow(set: MigrationSet, version: number): number {
  const below = set.migrations.filter((m) => m.version < version);
  return below.length ? below[below.length - 1]!.version : 0;
}

function forceAdvice(set: MigrationSet, version: number, direction: 'up' | 'down', file: string): string {
  const before = versionBelow(set, version);
  const done = direction === 'up' ? version : before;
  const undone = direction === 'up' ? before : version;
  return (
    `Check what the ${direction} function of ${file} changed. Then either finish its work by hand and run \`${cmd} force ${done}\`, ` +
    `or undo what it did and run \`${cmd} force ${undone}\` (force V records exactly the files up to V as applied in the changelog). Then continue with \`${cmd} ${direction}\`.`
  );
}

/** A step left 'running' by a crash or a lost connection. */
function interruptedRecord(open: OpenStep, inChangelog: boolean, set: MigrationSet): FailureRecord {
  const ranToEnd = open.direction === 'up' ? inChangelog : !inChangelog;
  return {
    runId: open.runId,
    version: open.version,
    direction: open.direction,
    failedAt: open.startedAt,
    error: { code: 'INTERRUPTED', message: `the run stopped during the ${open.direction} function of ${open.file} (the process ended or the connection was lost) before it could record the outcome` },
    applied: [],
    notApplied: [],
    nextStep: ranToEnd
      ? `The changelog says the ${open.direction} of ${open.file} completed${open.direction === 'up' ? ' (it has its entry)' : ' (its entry is gone)'}; only Flightdeck's own record is missing. Check the data, then run \`${cmd} force ${open.direction === 'up' ? open.version : versionBelow(set, open.version)}\`.`
      : `MongoDB applies each operation as it runs, so part of the ${open.direction} function may be in effect. ${forceAdvice(set, open.version, open.direction, open.file)}`,
  };
}

function dirtyError(status: MigrationStatus): FlightdeckError {
  const f = status.failure;
  const what = f
    ? `the ${f.direction} function of migration ${f.version} failed${f.statement ? ` at ${f.statement.file}:${f.statement.line}` : ''}: ${f.error.message}. MongoDB applied its operations as they ran, so what it did before that is in effect`
    : 'a step is open without a record';
  return new FlightdeckError('MIGRATION_DIRTY', `The database is dirty (newest applied version ${status.version ?? 0}): ${what}.`, f?.nextStep ?? `Check the data by hand, then run \`${cmd} force V\` with the version it matches.`, { failure: f });
}

export interface PlannedMongoStep {
  migration: Migration;
  direction: 'up' | 'down';
  /** The newest applied version before and after the step (null: none). */
  versionBefore: number | null;
  versionAfter: number | null;
}

/** What up / down / goto does, from the set of applied files. */
export function planMongoSteps(set: MigrationSet, appliedFiles: ReadonlySet<string>, action: RunAction): PlannedMongoStep[] {
  const all = set.migrations.filter((m) => m.up);
  const isApplied = (m: Migration) => appliedFiles.has(m.up!.file);
  let chosen: { migration: Migration; direction: 'up' | 'down' }[];
  const downs = (ms: Migration[], count: number) => ms.filter(isApplied).reverse().slice(0, count).map((migration) => ({ migration, direction: 'down' as const }));
  const ups = (ms: Migration[], count: number) => ms.filter((m) => !isApplied(m)).slice(0, count).map((migration) => ({ migration, direction: 'up' as const }));
  switch (action.kind) {
    case 'up':
      chosen = ups(all, action.steps ?? Infinity);
      break;
    case 'down':
      chosen = downs(all, action.steps === 'all' ? Infinity : action.steps);
      break;
    case 'goto': {
      if (action.version !== 0 && !all.some((m) => m.version === action.version)) {
        throw new FlightdeckError('MIGRATION_NOT_FOUND', `Version ${action.version} is not in ${set.dir}.`, `Use one of the set's versions (${all[0]?.version ?? '…'}…${all[all.length - 1]?.version ?? '…'}) or 0 for none.`);
      }
      chosen = [...downs(all.filter((m) => m.version > action.version), Infinity), ...ups(all.filter((m) => m.version <= action.version), Infinity)];
      break;
    }
  }
  const applied = new Set(all.filter(isApplied).map((m) => m.version));
  const newest = () => (applied.size ? Math.max(...applied) : null);
  return chosen.map((c) => {
    const versionBefore = newest();
    if (c.direction === 'up') applied.add(c.migration.version);
    else applied.delete(c.migration.version);
    return { ...c, versionBefore, versionAfter: newest() };
  });
}

export async function mongoMigrationStatus(conn: OpenConnection, set: MigrationSet): Promise<MigrationStatus> {
  assertMongoSet(set);
  const { db } = mongoOf(conn);
  return (await readState(new MongoMigrationHistory(db), set)).status;
}

interface PreparedStep extends PlannedMongoStep {
  loaded: LoadedMongoMigration;
  fn: MigrationFunction;
}

/** Loads every file of the plan before the first function runs: a syntax error or a missing down in
 * the tenth file applies nothing. */
async function prepare(plan: PlannedMongoStep[]): Promise<PreparedStep[]> {
  const loaded = new Map<string, LoadedMongoMigration>();
  const out: PreparedStep[] = [];
  const missing: PlannedMongoStep[] = [];
  for (const p of plan) {
    const file = p.migration.up!;
    let l = loaded.get(file.file);
    if (!l) {
      l = await loadMongoMigration(file);
      if (l.checksum !== file.checksum) {
        throw new FlightdeckError('MIGRATION_SET_INVALID', `${file.file} changed while the run was being prepared. Nothing was applied.`, 'Run again once the files are settled.', { file: file.file });
      }
      loaded.set(file.file, l);
    }
    const fn = p.direction === 'up' ? l.up : l.down;
    if (!fn) missing.push(p);
    else out.push({ ...p, loaded: l, fn });
  }
  if (missing.length) {
    const dir = missing[0]!.direction;
    const files = missing.map((p) => p.migration.up!.file);
    throw new FlightdeckError(
      'MIGRATION_NOT_FOUND',
      `Cannot go ${dir}: ${files.join(', ')} ${files.length > 1 ? 'have' : 'has'} no ${dir} function. Nothing was applied.`,
      dir === 'down' ? 'Write the down function (export async function down(db, client) {…}), or revert by hand and `flightdeck migrate force` the version.' : 'Export an up function from the file.',
      { files },
    );
  }
  return out;
}

export async function runMongoMigrations(conn: OpenConnection, set: MigrationSet, action: RunAction, opts: MongoRunOptions): Promise<RunResult> {
  assertRunnable(set);
  assertMongoSet(set);
  const { client, db } = mongoOf(conn);
  const log = opts.onLog ?? (() => undefined);
  const started = performance.now();
  const journal = await RunJournal.open(opts.journalDir, 'migrate');
  const warnings: string[] = [];
  let running: string | null = null;
  const onAbort = () => {
    if (running) log('warn', `Cancel requested: ${running} cannot be interrupted (MongoDB applies each operation as it runs, and there is no transaction to roll back); the run stops when it returns.`);
  };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const appliedBy = opts.appliedBy ?? defaultAppliedBy();
    await journal.append('run-start', { action, dir: set.dir, format: set.format, engine: 'mongodb', target: conn.route.address, database: db.databaseName, user: conn.profile.user, host: os.hostname() });
    const lock = new MongoRunnerLock(db, MongoRunnerLock.ownerFor(journal.runId, appliedBy), opts.lockTimings, (why) => {
      log('error', `The runner lock was lost: ${why}. The run stops before the next migration.`);
      void journal.append('runner-lock-lost', { why });
    });
    const got = await lock.acquire(opts.runnerLockWaitMs ?? defaultRunnerLockWaitMs, (holder, waited) => {
      log('warn', `Waiting for the runner lock (${(waited / 1000).toFixed(0)} s): held by ${holder ? describeMongoHolder(holder) : 'a runner that just finished'}.`);
      void journal.append('runner-lock-wait', { holder, waitedMs: waited });
    });
    try {
      if (got.tookOverFrom) {
        const w = `Took over the runner lock from ${describeMongoHolder(got.tookOverFrom)}: it had expired, so that runner stopped renewing it (it ended or hung).`;
        warnings.push(w);
        log('warn', w);
      }
      await journal.append('runner-lock', { key: lock.key, collection: 'flightdeck_lock', tookOverFrom: got.tookOverFrom });
      const history = new MongoMigrationHistory(db);
      const { status, changelog, appliedFiles } = await readState(history, set);
      if (status.dirty) throw dirtyError(status);
      for (const d of status.drift) {
        const w = `${d.file} was edited after it was applied (checksum ${d.appliedChecksum.slice(0, 12)} then, ${d.fileChecksum.slice(0, 12)} now); the database has what the old content did.`;
        warnings.push(w);
        log('warn', w);
      }
      const plan = planMongoSteps(set, appliedFiles, action);
      const steps = await prepare(plan);
      // migrate-mongo's useFileHash: its status matches entries by name and hash, so entries written
      // without a hash would look pending to it, and it would run those files again.
      const useFileHash = changelog.some((e) => typeof e.fileHash === 'string');
      for (const s of steps) {
        if (s.direction === 'up' && status.version !== null && s.migration.version < status.version) {
          const w = `${s.migration.up!.file} is older than the newest applied version ${status.version}; it is applied now, out of order, as migrate-mongo applies it.`;
          warnings.push(w);
          log('warn', w);
        }
      }
      await journal.append('plan', { from: status.version, useFileHash, steps: steps.map((s) => ({ version: s.migration.version, direction: s.direction, file: s.loaded.file, checksum: s.loaded.checksum })) });
      if (steps.length === 0) log('info', `Nothing to do: ${status.version === null ? 'no migration is applied' : `the newest applied version is ${status.version}`}.`);
      else log('info', `Plan: ${steps.length} step(s) from version ${status.version ?? 0} to ${steps[steps.length - 1]!.versionAfter ?? 0}.`);

      // One block per run, as migrate-mongo numbers its runs: `migrate-mongo down --block` reverts a
      // Flightdeck run whole.
      const migrationBlock = Date.now();
      const done: RunStep[] = [];
      const runStarted = performance.now();
      for (const [i, step] of steps.entries()) {
        const { migration, direction, loaded } = step;
        const file = loaded.file;
        if (opts.signal?.aborted) {
          throw new FlightdeckError('CANCELLED', `Cancelled before migration ${migration.version}; the newest applied version is ${step.versionBefore ?? 0}, and the database is clean.`, 'Run again to continue.');
        }
        lock.assertHeld();
        log('info', `${direction === 'up' ? 'Applying' : 'Reverting'} ${migration.version} ${migration.title} (${file})`);
        await journal.append('step-start', { version: migration.version, direction, file, checksum: loaded.checksum });
        const stepId = await history.startStep({ runId: journal.runId, version: migration.version, direction, file, migrationBlock });
        const t0 = performance.now();
        running = `the ${direction} function of ${file}`;
        try {
          await invokeMigration(step.fn, db, client);
        } catch (e) {
          running = null;
          await failStep({ e, phase: 'function', step, stepId, history, journal, set, ranMs: performance.now() - t0 });
        }
        running = null;
        const durationMs = performance.now() - t0;
        try {
          if (direction === 'up') await history.recordUp({ fileName: file, version: migration.version, checksum: loaded.checksum, fileHash: useFileHash ? loaded.fileHash : null, durationMs, appliedBy, runId: journal.runId, migrationBlock });
          else await history.recordDown({ fileName: file, version: migration.version });
          await history.finishStep(stepId, 'done', null, 1);
        } catch (e) {
          await failStep({ e, phase: 'bookkeeping', step, stepId, history, journal, set, ranMs: durationMs });
        }
        await journal.append('step-done', { version: migration.version, direction, file, durationMs: Math.round(durationMs) });
        done.push({ version: migration.version, title: migration.title, direction, file, statements: 1, durationMs: Math.round(durationMs * 10) / 10, lockRetries: 0 });
        const n = i + 1;
        const elapsed = (performance.now() - runStarted) / 1000;
        const rate = elapsed > 0 ? n / elapsed : 0;
        opts.onProgress?.({ fraction: n / steps.length, done: n, total: steps.length, ratePerSec: rate, etaMs: rate > 0 ? ((steps.length - n) / rate) * 1000 : null, label: `${direction} ${migration.version} ${migration.title}` });
      }
      const result: RunResult = {
        runId: journal.runId,
        journalFile: journal.file,
        fromVersion: status.version,
        toVersion: steps.length ? steps[steps.length - 1]!.versionAfter : status.version,
        steps: done,
        durationMs: Math.round(performance.now() - started),
        warnings,
      };
      await journal.append('run-done', { toVersion: result.toVersion, steps: done.length, durationMs: result.durationMs });
      return result;
    } finally {
      await lock.release().catch(() => undefined);
    }
  } catch (e) {
    const shape = e instanceof FlightdeckError ? e.toShape() : { code: 'INTERNAL', message: (e as Error).message };
    await journal.append('run-failed', { error: { code: shape.code, message: shape.message } }).catch(() => undefined);
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await journal.close();
  }
}

async function failStep(a: { e: unknown; phase: 'function' | 'bookkeeping'; step: PreparedStep; stepId: ObjectId; history: MongoMigrationHistory; journal: RunJournal; set: MigrationSet; ranMs: number }): Promise<never> {
  const { step, journal } = a;
  const { migration, direction, loaded } = step;
  const file = loaded.file;
  const info = describeMigrationError(a.e, loaded.absPath);
  const summary = info.at ? sourceLine(loaded.text, info.at.line) : '';
  const where = info.at ? `${file}:${info.at.line}` : file;
  let message: string;
  let nextStep: string;
  if (a.phase === 'function') {
    message = `the ${direction} function of ${file} threw ${info.message}${info.at ? ` at line ${info.at.line}${summary ? ` (${summary})` : ''}` : ''} after ${Math.round(a.ranMs)} ms; MongoDB applies each operation as it runs, so what the function did before that is in effect`;
    nextStep = info.connection
      ? `The connection was lost while the ${direction} function of ${file} ran. Reconnect, ${forceAdvice(a.set, migration.version, direction, file).replace(/^Check/, 'check')}`
      : forceAdvice(a.set, migration.version, direction, file);
  } else {
    const done = direction === 'up' ? migration.version : versionBelow(a.set, migration.version);
    message = `the ${direction} function of ${file} ran to the end, but recording it failed: ${info.message}`;
    nextStep = `The ${direction} of ${file} is in effect, but the changelog may not say so. Run \`${cmd} force ${done}\` to record it, then continue.`;
  }
  const record: FailureRecord = {
    runId: journal.runId,
    version: migration.version,
    direction,
    failedAt: new Date().toISOString(),
    ...(info.at ? { statement: { file, line: info.at.line, index: 0, summary: summary || `${direction} function` } } : {}),
    error: { code: info.code, message },
    // A function's operations are not known one by one: what is in effect is for the DBA to check.
    applied: [],
    notApplied: [],
    nextStep,
  };
  await journal.append('step-failed', { version: migration.version, direction, phase: a.phase, record });
  let recorded = true;
  try {
    await a.history.finishStep(a.stepId, 'failed', record, a.phase === 'function' ? 0 : 1);
  } catch {
    recorded = false;
  }
  const note = recorded ? '' : ' The record could not be written to the database (its step stays open, so the database is dirty); the journal has it.';
  throw new FlightdeckError('MIGRATION_FAILED', `Migration ${migration.version} (${direction}) failed at ${where}: ${message}.${note}`, nextStep, { record, journal: journal.file });
}

/** `force V`: the DBA declares that exactly the set's files up to V are applied (0: none), after
 * repairing by hand. The changelog is made to say so, and open steps are settled (their records kept). */
export async function forceMongoVersion(
  conn: OpenConnection,
  set: MigrationSet,
  version: number,
  opts: Pick<MongoRunOptions, 'journalDir' | 'runnerLockWaitMs' | 'appliedBy' | 'onLog' | 'lockTimings'>,
): Promise<{ previous: { version: number | null; dirty: boolean }; version: number | null; settledSteps: number; journalFile: string }> {
  assertMongoSet(set);
  const { db } = mongoOf(conn);
  if (version !== 0 && !set.migrations.some((m) => m.version === version)) {
    throw new FlightdeckError('MIGRATION_NOT_FOUND', `Version ${version} is not in ${set.dir}.`, 'Force one of the set\'s versions, or 0 for none.');
  }
  const journal = await RunJournal.open(opts.journalDir, 'force');
  try {
    const by = opts.appliedBy ?? defaultAppliedBy();
    const lock = new MongoRunnerLock(db, MongoRunnerLock.ownerFor(journal.runId, by), opts.lockTimings);
    await lock.acquire(opts.runnerLockWaitMs ?? defaultRunnerLockWaitMs);
    try {
      const history = new MongoMigrationHistory(db);
      const { status, changelog } = await readState(history, set);
      const previous = { version: status.version, dirty: status.dirty };
      const target = version === 0 ? null : version;
      const have = new Set(changelog.map((e) => e.fileName));
      const useFileHash = changelog.some((e) => typeof e.fileHash === 'string');
      const toAdd: { fileName: string; fileHash: string | null }[] = [];
      for (const m of set.migrations) {
        if (!m.up || m.version > version || have.has(m.up.file)) continue;
        toAdd.push({ fileName: m.up.file, fileHash: useFileHash ? await fileSha256(m.up.absPath) : null });
      }
      // Entries above V go, those of files no longer in the folder too; the journal keeps them.
      const toRemove = changelog.filter((e) => {
        const v = versionOfFileName(e.fileName);
        return v !== null && v > version;
      });
      await journal.append('force-plan', { previous, version: target, add: toAdd.map((a) => a.fileName), remove: toRemove });
      await history.forceChangelog(toAdd, toRemove.map((e) => e._id!), target, Date.now());
      const settled = await history.settleOpenSteps('forced');
      await journal.append('force', { previous, version: target, settledSteps: settled, added: toAdd.map((a) => a.fileName), removed: toRemove.map((e) => e.fileName), by });
      opts.onLog?.(
        'info',
        `Forced version ${version} (was ${previous.version ?? 0}${previous.dirty ? ', dirty' : ''}): ${toAdd.length} changelog entr${toAdd.length === 1 ? 'y' : 'ies'} added, ${toRemove.length} removed, ${settled} open step(s) settled.`,
      );
      return { previous, version: target, settledSteps: settled, journalFile: journal.file };
    } finally {
      await lock.release().catch(() => undefined);
    }
  } finally {
    await journal.close();
  }
}

// The migration runner: status, up [N], down [N], goto V and force V on one database. It takes the
// runner lock, refuses a dirty database (showing its record), checks every file of the plan before
// the first statement runs, then runs the steps one by one, journaling each.
import os from 'node:os';
import { FlightdeckError } from '../../shared/errors';
import type { FailureRecord, MigrationStatus, RunResult, RunStep } from '../../shared/migrations';
import { isSqlSession, type PinnedSql, type SqlSession } from '../connections/adapter';
import type { OpenConnection } from '../connections/connect';
import { RunJournal } from '../journal/run-journal';
import { MigrationHistory } from './history';
import { assertRunnable, type Migration, type MigrationSet } from './migration-set';
import { RunnerLock, describeHolder } from './runner-lock';
import { defaultLockRetry, executeStep, type LockRetryPolicy, type StepSpec } from './step-executor';
import { forceMongoVersion, mongoMigrationStatus, runMongoMigrations } from './mongo-runner';
import { loadPostgresParser } from './split-postgres';
import { mysqlUnits, postgresUnits, preflightMysql, type Unit } from './units';

export type RunAction = { kind: 'up'; steps?: number } | { kind: 'down'; steps: number | 'all' } | { kind: 'goto'; version: number };

export interface RunOptions {
  journalDir: string;
  /** Per-session lock_timeout for the migration's statements (the connection was opened with it). */
  lockTimeoutMs: number;
  /** How long to wait for another runner's lock before giving up. */
  runnerLockWaitMs?: number;
  lockRetry?: LockRetryPolicy;
  appliedBy?: string;
  signal?: AbortSignal;
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
  onProgress?: (p: { fraction: number; done: number; total: number; ratePerSec: number; etaMs: number | null; label: string }) => void;
}

export const defaultRunnerLockWaitMs = 10_000;

function sqlSessionOf(conn: OpenConnection): SqlSession {
  if (!isSqlSession(conn.session)) {
    throw new FlightdeckError('INTERNAL', `The SQL migration runner was given a ${conn.session.engine} connection.`, 'This is a bug in Flightdeck.');
  }
  return conn.session;
}

/** A migrate-mongo set is JavaScript for MongoDB: refused on SQL engines before anything is read as SQL. */
function assertSqlSet(set: MigrationSet): void {
  if (set.format === 'migrate-mongo') {
    throw new FlightdeckError('MIGRATION_SET_INVALID', `${set.dir} holds migrate-mongo migrations (JavaScript for MongoDB), not SQL.`, 'Use a mongodb:// target for this set, or point --migrations at the SQL migrations.');
  }
}

async function withPinned<T>(conn: OpenConnection, fn: (db: PinnedSql, session: SqlSession) => Promise<T>): Promise<T> {
  const session = sqlSessionOf(conn);
  const db = await session.pin();
  try {
    return await fn(db, session);
  } finally {
    // The session held locks and settings of a run: it is not given back to the pool.
    db.release(true);
  }
}

/** What the database says about the set: version, dirty state and its record, drift, pending. */
export async function migrationStatus(conn: OpenConnection, set: MigrationSet): Promise<MigrationStatus> {
  if (conn.session.engine === 'mongodb') return mongoMigrationStatus(conn, set);
  assertSqlSet(set);
  if (conn.session.engine === 'postgres') await loadPostgresParser();
  return withPinned(conn, async (db, session) => {
    const history = new MigrationHistory(session.engine, db);
    return readStatus(history, session.engine, set);
  });
}

async function readStatus(history: MigrationHistory, engine: 'postgres' | 'mysql', set: MigrationSet): Promise<MigrationStatus> {
  const { version, dirty } = await history.version();
  const applied = await history.applied();
  const appliedBy = new Map(applied.map((a) => [a.version, a]));
  const inSet = new Map(set.migrations.map((m) => [m.version, m]));
  const open = dirty ? await history.openStep() : null;
  const drift = applied.flatMap((a) => {
    const m = inSet.get(a.version);
    return m?.up && m.up.checksum !== a.checksum ? [{ version: a.version, file: m.up.file, appliedChecksum: a.checksum, fileChecksum: m.up.checksum }] : [];
  });
  const unknownApplied = applied.map((a) => a.version).filter((v) => !inSet.has(v) && version !== null && v <= version);
  if (version !== null && !inSet.has(version) && !unknownApplied.includes(version)) unknownApplied.push(version);
  return {
    engine,
    version,
    dirty,
    failure: open ? (open.record ?? interruptedRecord(open, inSet.get(open.version), engine)) : null,
    applied: set.migrations
      // A dirty version is neither applied nor pending: its record says what is in effect.
      .filter((m) => version !== null && (m.version < version || (m.version === version && !dirty)))
      .map((m) => {
        const a = appliedBy.get(m.version);
        return { version: m.version, name: a?.name ?? null, checksum: a?.checksum ?? null, appliedAt: a?.appliedAt ?? null, durationMs: a?.durationMs ?? null };
      }),
    pending: set.migrations.filter((m) => version === null || m.version > version).map((m) => ({ version: m.version, title: m.title })),
    drift,
    unknownApplied,
    flyway: await history.flyway(),
  };
}

/** A step left 'running' by a crash or a lost connection: its progress counter is exact up to the
 * last commit, so the record is rebuilt from the file. */
function interruptedRecord(open: NonNullable<Awaited<ReturnType<MigrationHistory['openStep']>>>, m: Migration | undefined, engine: 'postgres' | 'mysql'): FailureRecord {
  const file = open.direction === 'up' ? m?.up : m?.down;
  let statements: { file: string; line: number; index: number; summary: string }[] = [];
  if (file) {
    try {
      const units = engine === 'postgres' ? postgresUnits(file, 150000) : mysqlUnits(file);
      statements = units.flatMap((u) => u.statements).map((s) => ({ file: file.file, line: s.line, index: s.index, summary: s.summary }));
    } catch {
      statements = [];
    }
  }
  return {
    runId: open.runId,
    version: open.version,
    direction: open.direction,
    failedAt: open.startedAt,
    error: { code: 'INTERRUPTED', message: 'the run stopped during this step (the process ended or the connection was lost) before it could record a failure' },
    applied: statements.slice(0, open.statementsApplied),
    notApplied: statements.slice(open.statementsApplied),
    nextStep: `${open.statementsApplied} statement(s) of ${open.file} are in effect${file && file.file === open.file ? '' : ' (the file is no longer in the folder)'}. Complete or undo the rest by hand, then \`flightdeck migrate force\` the version that matches.`,
  };
}

function dirtyError(status: MigrationStatus): FlightdeckError {
  const f = status.failure;
  const what = f
    ? `migration ${f.version} (${f.direction}) failed${f.statement ? ` at ${f.statement.file}:${f.statement.line}` : ''}: ${f.error.message}. In effect: ${f.applied.length ? f.applied.map((s) => `line ${s.line}`).join(', ') : 'none'}; not applied: ${f.notApplied.length ? f.notApplied.map((s) => `line ${s.line}`).join(', ') : 'none'}`
    : 'no record of the failed step (the table was marked dirty by another tool)';
  return new FlightdeckError(
    'MIGRATION_DIRTY',
    `The database is dirty at version ${status.version ?? 0}: ${what}.`,
    f?.nextStep ?? 'Check the schema by hand, then run `flightdeck migrate force V` with the version it matches.',
    { failure: f },
  );
}

interface PlannedStep {
  migration: Migration;
  direction: 'up' | 'down';
  versionBefore: number | null;
  versionAfter: number | null;
}

export function planSteps(set: MigrationSet, current: number | null, action: RunAction): PlannedStep[] {
  const versions = set.migrations.map((m) => m.version);
  if (current !== null && !versions.includes(current)) {
    throw new FlightdeckError('MIGRATION_NOT_FOUND', `The database is at version ${current}, which is not in ${set.dir}.`, 'Point --migrations at the set this database was migrated with, or force the version it really matches.');
  }
  const idx = current === null ? -1 : versions.indexOf(current);
  const up = (count: number): PlannedStep[] =>
    set.migrations.slice(idx + 1, idx + 1 + count).map((m, i, arr) => ({ migration: m, direction: 'up', versionBefore: i === 0 ? current : arr[i - 1]!.version, versionAfter: m.version }));
  const down = (count: number): PlannedStep[] => {
    const out: PlannedStep[] = [];
    for (let i = idx; i >= 0 && out.length < count; i--) out.push({ migration: set.migrations[i]!, direction: 'down', versionBefore: versions[i]!, versionAfter: i > 0 ? versions[i - 1]! : null });
    return out;
  };
  switch (action.kind) {
    case 'up':
      return up(action.steps ?? Infinity);
    case 'down':
      return down(action.steps === 'all' ? Infinity : action.steps);
    case 'goto': {
      if (action.version === 0) return down(Infinity);
      const target = versions.indexOf(action.version);
      if (target < 0) throw new FlightdeckError('MIGRATION_NOT_FOUND', `Version ${action.version} is not in ${set.dir}.`, `Use one of the set's versions (${versions[0]}…${versions[versions.length - 1]}) or 0 for none.`);
      return target > idx ? up(target - idx) : down(idx - target);
    }
  }
}

export async function runMigrations(conn: OpenConnection, set: MigrationSet, action: RunAction, opts: RunOptions): Promise<RunResult> {
  if (conn.session.engine === 'mongodb') return runMongoMigrations(conn, set, action, opts);
  assertRunnable(set);
  assertSqlSet(set);
  const session = sqlSessionOf(conn);
  if (session.engine === 'postgres') await loadPostgresParser();
  const log = opts.onLog ?? (() => undefined);
  const started = performance.now();
  const journal = await RunJournal.open(opts.journalDir, 'migrate');
  const warnings: string[] = [];
  const cancelInFlight: { pid?: number } = {};
  const onAbort = () => {
    if (cancelInFlight.pid === undefined) return;
    const sql = session.engine === 'postgres' ? 'select pg_cancel_backend($1)' : `KILL QUERY ${Number(cancelInFlight.pid)}`;
    session.query(sql, session.engine === 'postgres' ? [cancelInFlight.pid] : []).catch(() => undefined);
  };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    await journal.append('run-start', { action, dir: set.dir, format: set.format, engine: session.engine, target: conn.route.address, database: conn.profile.database, user: conn.profile.user, host: os.hostname() });
    return await withPinned(conn, async (db) => {
      cancelInFlight.pid = db.processId;
      const lock = await RunnerLock.for(session.engine, db);
      await lock.acquire(opts.runnerLockWaitMs ?? defaultRunnerLockWaitMs, (holder, waited) => {
        const msg = `Waiting for the runner lock (${(waited / 1000).toFixed(0)} s): held by ${holder ? describeHolder(holder) : 'a session this user cannot see'}.`;
        log('warn', msg);
        void journal.append('runner-lock-wait', { holder, waitedMs: waited });
      });
      try {
        await journal.append('runner-lock', { key: lock.key });
        const history = new MigrationHistory(session.engine, db);
        await history.ensure();
        const status = await readStatus(history, session.engine, set);
        if (status.dirty) throw dirtyError(status);
        for (const d of status.drift) {
          const w = `${d.file} was edited after it was applied (checksum ${d.appliedChecksum.slice(0, 12)} then, ${d.fileChecksum.slice(0, 12)} now); the database has the old content.`;
          warnings.push(w);
          log('warn', w);
        }
        const plan = planSteps(set, status.version, action);
        const missingDown = plan.filter((p) => p.direction === 'down' && !p.migration.down);
        if (missingDown.length) {
          throw new FlightdeckError('MIGRATION_NOT_FOUND', `Cannot go down: no down migration for version${missingDown.length > 1 ? 's' : ''} ${missingDown.map((p) => p.migration.version).join(', ')}. Nothing was applied.`, 'Write the missing down files, or roll back by hand and force the version.');
        }

        // Every file of the plan is parsed (PostgreSQL) or checked by the server's parser (MySQL)
        // before the first statement runs: a syntax error in the tenth file applies nothing.
        const serverVersionNum = session.engine === 'postgres' ? Number((await db.query<{ v: string }>("select current_setting('server_version_num') as v"))[0]!.v) : 0;
        const specs: StepSpec[] = [];
        let unchecked = 0;
        for (const p of plan) {
          const file = (p.direction === 'up' ? p.migration.up : p.migration.down)!;
          const units: Unit[] = session.engine === 'postgres' ? postgresUnits(file, serverVersionNum) : mysqlUnits(file);
          if (session.engine === 'mysql') unchecked += (await preflightMysql(db, file, units)).unchecked;
          specs.push({ version: p.migration.version, title: p.migration.title, direction: p.direction, file, units, versionBefore: p.versionBefore, versionAfter: p.versionAfter });
        }
        if (unchecked) log('info', `${unchecked} statement(s) could not be syntax-checked in advance (the server does not PREPARE them); they are checked when they run.`);
        const total = specs.reduce((n, s) => n + s.units.reduce((k, u) => k + u.statements.length, 0), 0);
        await journal.append('plan', { from: status.version, steps: specs.map((s) => ({ version: s.version, direction: s.direction, file: s.file.file, statements: s.units.reduce((k, u) => k + u.statements.length, 0) })) });
        if (specs.length === 0) log('info', `Nothing to do: the database is at version ${status.version ?? 0}.`);
        else log('info', `Plan: ${specs.length} step(s) ${specs[0]!.direction} from version ${status.version ?? 0} to ${specs[specs.length - 1]!.versionAfter ?? 0}, ${total} statements.`);

        const steps: RunStep[] = [];
        let done = 0;
        const runStarted = performance.now();
        for (const spec of specs) {
          if (opts.signal?.aborted) throw new FlightdeckError('CANCELLED', `Cancelled before migration ${spec.version}; the database is at version ${spec.versionBefore ?? 0}, clean.`, 'Run again to continue.');
          log('info', `${spec.direction === 'up' ? 'Applying' : 'Reverting'} ${spec.version} ${spec.title} (${spec.file.file}, ${spec.units.length} unit(s))`);
          const base = done;
          const stepTotal = spec.units.reduce((k, u) => k + u.statements.length, 0);
          const outcome = await executeStep(db, history, spec, {
            engine: session.engine,
            runId: journal.runId,
            appliedBy: opts.appliedBy ?? `${os.userInfo().username}@${os.hostname()}`,
            lockTimeoutMs: opts.lockTimeoutMs,
            lockRetry: opts.lockRetry ?? defaultLockRetry,
            journal,
            log,
            ...(opts.signal ? { signal: opts.signal } : {}),
            onUnit: (n) => {
              const d = base + n;
              const elapsed = (performance.now() - runStarted) / 1000;
              const rate = elapsed > 0 ? d / elapsed : 0;
              opts.onProgress?.({ fraction: total ? d / total : 1, done: d, total, ratePerSec: rate, etaMs: rate > 0 ? ((total - d) / rate) * 1000 : null, label: `${spec.direction} ${spec.version} ${spec.title}` });
            },
          });
          done = base + stepTotal;
          steps.push({ version: spec.version, title: spec.title, direction: spec.direction, file: spec.file.file, statements: outcome.statements, durationMs: Math.round(outcome.durationMs * 10) / 10, lockRetries: outcome.lockRetries });
        }
        const result: RunResult = {
          runId: journal.runId,
          journalFile: journal.file,
          fromVersion: status.version,
          toVersion: specs.length ? specs[specs.length - 1]!.versionAfter : status.version,
          steps,
          durationMs: Math.round(performance.now() - started),
          warnings,
        };
        await journal.append('run-done', { toVersion: result.toVersion, steps: steps.length, durationMs: result.durationMs });
        return result;
      } finally {
        cancelInFlight.pid = undefined;
        await lock.release().catch(() => undefined);
      }
    });
  } catch (e) {
    const shape = e instanceof FlightdeckError ? e.toShape() : { code: 'INTERNAL', message: (e as Error).message };
    await journal.append('run-failed', { error: { code: shape.code, message: shape.message } }).catch(() => undefined);
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await journal.close();
  }
}

/** `force V`: the DBA declares the schema matches version V (0: none) after repairing by hand.
 * The open step's record is kept, marked as settled by force. */
export async function forceVersion(conn: OpenConnection, set: MigrationSet, version: number, opts: Pick<RunOptions, 'journalDir' | 'runnerLockWaitMs' | 'appliedBy' | 'onLog'>): Promise<{ previous: { version: number | null; dirty: boolean }; version: number | null; settledSteps: number; journalFile: string }> {
  if (conn.session.engine === 'mongodb') return forceMongoVersion(conn, set, version, opts);
  assertSqlSet(set);
  const session = sqlSessionOf(conn);
  if (version !== 0 && !set.migrations.some((m) => m.version === version)) {
    throw new FlightdeckError('MIGRATION_NOT_FOUND', `Version ${version} is not in ${set.dir}.`, 'Force one of the set\'s versions, or 0 for none.');
  }
  const journal = await RunJournal.open(opts.journalDir, 'force');
  try {
    return await withPinned(conn, async (db) => {
      const lock = await RunnerLock.for(session.engine, db);
      await lock.acquire(opts.runnerLockWaitMs ?? defaultRunnerLockWaitMs);
      try {
        const history = new MigrationHistory(session.engine, db);
        await history.ensure();
        const previous = await history.version();
        const target = version === 0 ? null : version;
        await db.query(session.engine === 'postgres' ? 'BEGIN' : 'START TRANSACTION');
        let settled = 0;
        try {
          await history.setVersion(target, false);
          await history.removeAppliedAbove(target);
          settled = await history.settleOpenSteps('forced');
          await db.query('COMMIT');
        } catch (e) {
          await db.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
        await journal.append('force', { previous, version: target, settledSteps: settled, by: opts.appliedBy ?? `${os.userInfo().username}@${os.hostname()}` });
        opts.onLog?.('info', `Forced version ${version} (was ${previous.version ?? 0}${previous.dirty ? ', dirty' : ''}).`);
        return { previous, version: target, settledSteps: settled, journalFile: journal.file };
      } finally {
        await lock.release().catch(() => undefined);
      }
    });
  } finally {
    await journal.close();
  }
}


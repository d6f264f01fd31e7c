// Runs one migration step (one file, up or down) on a pinned session, keeping the database's own
// record exact at every commit:
// - a file that is one transaction runs with its bookkeeping inside that transaction, so it takes
//   effect whole (and the version moves) or not at all, and the database is never dirty;
// - a file with statements that commit on their own (CONCURRENTLY, MySQL DDL) first marks the
//   version dirty, as golang-migrate does, then records the number of statements in effect with
//   each unit (inside the unit's transaction where it has one), so after a failure or a crash the
//   record says exactly what took effect.
// A lock timeout rolls the unit back, waits a growing, jittered pause and tries again.
import type { Engine } from '../../shared/profile';
import { FlightdeckError } from '../../shared/errors';
import type { FailureRecord, StatementRef } from '../../shared/migrations';
import type { PinnedSql } from '../connections/adapter';
import type { RunJournal } from '../journal/run-journal';
import type { MigrationHistory } from './history';
import type { MigrationFile } from './migration-set';
import type { Unit, UnitStatement } from './units';

export interface LockRetryPolicy {
  /** Attempts per unit, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultLockRetry: LockRetryPolicy = { attempts: 10, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Exponential backoff with equal jitter: half the pause is fixed, half random, so runners that
 * collided do not collide again in step. */
export function retryDelay(attempt: number, policy: LockRetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface StepSpec {
  version: number;
  title: string;
  direction: 'up' | 'down';
  file: MigrationFile;
  units: Unit[];
  /** schema_migrations' version before the step and once it succeeds (null: no version). */
  versionBefore: number | null;
  versionAfter: number | null;
}

export interface StepContext {
  engine: Extract<Engine, 'postgres' | 'mysql'>;
  runId: string;
  appliedBy: string;
  lockTimeoutMs: number;
  lockRetry: LockRetryPolicy;
  journal: RunJournal;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  signal?: AbortSignal;
  /** Called after each unit with the statements of the step in effect so far. */
  onUnit?: (done: number, total: number) => void;
}

export interface StepOutcome {
  statements: number;
  lockRetries: number;
  durationMs: number;
}

interface SqlFailure {
  code: string;
  message: string;
  sqlstate?: string;
  /** Line in the file, when the server said where in the statement. */
  line?: number;
  kind: 'lock' | 'cancelled' | 'connection' | 'statement';
}

/** Reads what a driver error says, for PostgreSQL (SQLSTATE, position) and MySQL (errno, line). */
export function describeSqlError(e: unknown, stmt?: UnitStatement): SqlFailure {
  const err = e as { code?: string; errno?: number; sqlState?: string; sqlMessage?: string; message?: string; position?: string; detail?: string };
  if (e instanceof FlightdeckError) return { code: e.code, message: e.message, kind: e.code === 'CANCELLED' ? 'cancelled' : 'statement' };
  if (typeof err.errno === 'number' && err.sqlState) {
    const at = /at line (\d+)\s*$/.exec(err.sqlMessage ?? '');
    const kind = err.errno === 1205 || err.errno === 1213 ? 'lock' : err.errno === 1317 || err.errno === 3024 || err.errno === 1969 ? 'cancelled' : 'statement';
    return { code: err.code ?? `ER_${err.errno}`, message: `${err.sqlMessage ?? err.message} (errno ${err.errno})`, sqlstate: err.sqlState, kind, ...(stmt && at ? { line: stmt.line + Number(at[1]) - 1 } : {}) };
  }
  if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) {
    const kind = err.code === '55P03' || err.code === '40P01' ? 'lock' : err.code === '57014' ? 'cancelled' : err.code.startsWith('08') || err.code.startsWith('57P') ? 'connection' : 'statement';
    let line: number | undefined;
    if (stmt && err.position) line = stmt.line + (stmt.text.slice(0, Number(err.position) - 1).match(/\n/g)?.length ?? 0);
    // PostgreSQL's DETAIL says which row or key: "Key (email)=(a@example.com) is duplicated."
    const message = `${err.message ?? String(e)}${err.detail ? ` (${err.detail.replace(/\.$/, '')})` : ''}`;
    return { code: err.code, message, sqlstate: err.code, kind, ...(line ? { line } : {}) };
  }
  return { code: err.code ?? 'CONNECTION_LOST', message: err.message ?? String(e), kind: 'connection' };
}

const ref = (file: string, s: UnitStatement): StatementRef => ({ file, line: s.line, index: s.index, summary: s.summary });

export async function executeStep(db: PinnedSql, history: MigrationHistory, spec: StepSpec, ctx: StepContext): Promise<StepOutcome> {
  const started = performance.now();
  const begin = ctx.engine === 'postgres' ? 'BEGIN' : 'START TRANSACTION';
  const all = spec.units.flatMap((u) => u.statements);
  const atomic = spec.units.length === 1 && spec.units[0]!.transactional;
  let lockRetries = 0;
  let applied = 0;
  let stepId: number | null = null;

  const bookkeepSuccess = async () => {
    const durationMs = performance.now() - started;
    await history.setVersion(spec.versionAfter, false);
    if (spec.direction === 'up') await history.recordApplied({ version: spec.version, name: spec.file.file, checksum: spec.file.checksum, durationMs, appliedBy: ctx.appliedBy, runId: ctx.runId });
    else await history.removeApplied(spec.version);
  };

  const fail = async (f: SqlFailure, at: UnitStatement | undefined, inEffect: number): Promise<never> => {
    const record: FailureRecord = {
      runId: ctx.runId,
      version: spec.version,
      direction: spec.direction,
      failedAt: new Date().toISOString(),
      ...(at ? { statement: { ...ref(spec.file.file, at), line: f.line ?? at.line } } : {}),
      error: { code: f.code, message: f.message, ...(f.sqlstate ? { sqlstate: f.sqlstate } : {}) },
      applied: all.slice(0, inEffect).map((s) => ref(spec.file.file, s)),
      notApplied: all.slice(inEffect).map((s) => ref(spec.file.file, s)),
      nextStep: nextStep(spec, inEffect, all.length, f),
    };
    await ctx.journal.append('step-failed', { version: spec.version, direction: spec.direction, record });
    let recorded = false;
    if (f.kind !== 'connection') {
      try {
        if (stepId === null) {
          // The single transaction rolled back: the database is as before; keep the record anyway.
          const id = await history.startStep({ runId: ctx.runId, version: spec.version, direction: spec.direction, file: spec.file.file });
          await history.finishStep(id, 'rolled-back', record, 0);
        } else if (inEffect === 0) {
          // Nothing took effect: the dirty mark would only send the DBA to repair nothing.
          await history.setVersion(spec.versionBefore, false);
          await history.finishStep(stepId, 'rolled-back', record, 0);
        } else {
          await history.finishStep(stepId, 'failed', record, inEffect);
        }
        recorded = true;
      } catch {
        // The session may be gone; the journal holds the record and the step row its progress.
      }
    }
    const where = record.statement ? `${record.statement.file}:${record.statement.line} (statement ${record.statement.index + 1}: ${record.statement.summary})` : spec.file.file;
    const effect = inEffect === 0 ? (atomic ? 'Nothing was applied: the transaction was rolled back.' : 'No statement of this file took effect; the version is as before.') : `${inEffect} of ${all.length} statements took effect and stay in effect: ${record.applied.map((s) => `#${s.index + 1} line ${s.line}`).join(', ')}.`;
    const recordNote = recorded ? '' : f.kind === 'connection' ? ' The connection was lost, so the database\'s step record shows progress up to the last commit; the journal has the rest.' : ' The record could not be written to the database; the journal has it.';
    throw new FlightdeckError(
      f.kind === 'cancelled' ? 'CANCELLED' : f.kind === 'lock' ? 'LOCK_TIMEOUT' : 'MIGRATION_FAILED',
      `Migration ${spec.version} (${spec.direction}) failed at ${where}: ${f.message}. ${effect}${recordNote}`,
      record.nextStep,
      { record, journal: ctx.journal.file },
    );
  };

  const runUnit = async (unit: Unit, bookkeeping: (() => Promise<void>) | null): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal?.aborted) await fail({ code: 'CANCELLED', message: 'cancelled before this statement started', kind: 'cancelled' }, unit.statements[0], applied);
      let current: UnitStatement | undefined;
      try {
        if (unit.transactional) await db.query(begin);
        for (const s of unit.statements) {
          current = s;
          await db.query(s.text);
        }
        current = undefined;
        if (bookkeeping) await bookkeeping();
        if (unit.transactional) await db.query('COMMIT');
        return;
      } catch (e) {
        const f = describeSqlError(e, current);
        if (unit.transactional && f.kind !== 'connection') await db.query('ROLLBACK').catch(() => undefined);
        if (f.kind === 'lock' && attempt < ctx.lockRetry.attempts && !ctx.signal?.aborted) {
          lockRetries++;
          const pause = retryDelay(attempt, ctx.lockRetry);
          const what = current ? `${spec.file.file}:${current.line} (${current.summary})` : spec.file.file;
          ctx.log('warn', `Lock not granted within ${ctx.lockTimeoutMs} ms for ${what}: ${f.message}. Rolled back; retry ${attempt + 1}/${ctx.lockRetry.attempts} in ${(pause / 1000).toFixed(1)} s.`);
          await ctx.journal.append('lock-retry', { version: spec.version, line: current?.line, attempt, pauseMs: pause, error: f.message });
          await sleep(pause, ctx.signal);
          const cleaned = unit.beforeRetry ? await unit.beforeRetry(db).catch(() => null) : null;
          if (cleaned) ctx.log('warn', `Before the retry: ${cleaned}.`);
          continue;
        }
        if (f.kind === 'lock') f.message = `${f.message}; gave up after ${attempt} attempts`;
        if (unit.beforeRetry && f.kind !== 'connection') {
          const cleaned = await unit.beforeRetry(db).catch(() => null);
          if (cleaned) ctx.log('warn', `After the failure: ${cleaned}.`);
        }
        await fail(f, current ?? unit.statements[0], applied);
      }
    }
  };

  // A file's own SET lock_timeout / statement_timeout lasts for that file only: every step starts
  // from the runner's limits again (RESET returns to the values the session was opened with).
  if (ctx.engine === 'postgres') await db.query('RESET lock_timeout; RESET statement_timeout');
  else {
    const seconds = Math.max(1, Math.ceil(ctx.lockTimeoutMs / 1000));
    await db.query(`SET SESSION lock_wait_timeout = ${seconds}, innodb_lock_wait_timeout = ${seconds}`);
  }
  await ctx.journal.append('step-start', { version: spec.version, direction: spec.direction, file: spec.file.file, checksum: spec.file.checksum, units: spec.units.map((u) => ({ transactional: u.transactional, statements: u.statements.map((s) => ({ line: s.line, summary: s.summary })), reason: u.reason })) });

  if (atomic) {
    await runUnit(spec.units[0]!, async () => {
      await bookkeepSuccess();
      const id = await history.startStep({ runId: ctx.runId, version: spec.version, direction: spec.direction, file: spec.file.file });
      await history.finishStep(id, 'done', null, all.length);
    });
    applied = all.length;
    ctx.onUnit?.(applied, all.length);
  } else {
    // Dirty first, as golang-migrate marks it: an up towards its own version, a down towards the one before.
    await db.query(begin);
    try {
      await history.setVersion(spec.versionAfter, true);
      stepId = await history.startStep({ runId: ctx.runId, version: spec.version, direction: spec.direction, file: spec.file.file });
      await db.query('COMMIT');
    } catch (e) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    for (const unit of spec.units) {
      const after = applied + unit.statements.length;
      const unitStarted = performance.now();
      const id = stepId;
      await runUnit(unit, unit.transactional ? () => history.stepProgress(id, after) : null);
      applied = after;
      // A statement that committed on its own is recorded right after it; a crash in between is
      // the one moment the record can lag by one statement, and the journal says which.
      if (!unit.transactional) await history.stepProgress(stepId, applied);
      await ctx.journal.append('unit-done', { version: spec.version, statementsInEffect: applied, durationMs: Math.round((performance.now() - unitStarted) * 10) / 10 });
      ctx.onUnit?.(applied, all.length);
    }
    await db.query(begin);
    try {
      await bookkeepSuccess();
      await history.finishStep(stepId, 'done', null, applied);
      await db.query('COMMIT');
    } catch (e) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
  const durationMs = performance.now() - started;
  await ctx.journal.append('step-done', { version: spec.version, direction: spec.direction, statements: all.length, lockRetries, durationMs: Math.round(durationMs) });
  return { statements: all.length, lockRetries, durationMs };
}

function nextStep(spec: StepSpec, inEffect: number, total: number, f: SqlFailure): string {
  const cmd = 'flightdeck migrate';
  if (f.kind === 'connection') return `Reconnect and run \`${cmd} status\`: it shows how many statements of ${spec.file.file} are in effect. Then finish or undo them by hand and \`${cmd} force\` the version that matches.`;
  if (inEffect === 0) {
    if (f.kind === 'lock') return `The table stayed busy: find the long transaction holding it (the Locks panel, or pg_stat_activity), then run ${spec.direction} again. Nothing needs repair.`;
    if (f.kind === 'cancelled') return `Run ${spec.direction} again when ready. Nothing needs repair.`;
    return `Fix ${spec.file.file} and run ${spec.direction} again. Nothing needs repair.`;
  }
  return (
    `The database is marked dirty. ${inEffect} of ${total} statements of ${spec.file.file} are in effect. Either complete the remaining ${total - inEffect} by hand and run \`${cmd} force ${spec.versionAfter ?? 0}\`, ` +
    `or undo the ${inEffect} that took effect and run \`${cmd} force ${spec.versionBefore ?? 0}\`. Then continue with \`${cmd} ${spec.direction}\`.`
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

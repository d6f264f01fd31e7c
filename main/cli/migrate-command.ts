// `flightdeck migrate up|down|goto|force|status <url> --migrations DIR`: the migration runner for
// terminals and CI pipelines, with the same records, journal and lock as the cockpit.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FlightdeckError } from '../../shared/errors';
import type { MigrationStatus, RunResult } from '../../shared/migrations';
import { readMigrationSet, summarise } from '../migrations/migration-set';
import { defaultRunnerLockWaitMs, forceVersion, migrationStatus, runMigrations, type RunAction } from '../migrations/runner';
import { defaultLockRetry } from '../migrations/step-executor';
import { defaultDataDir } from '../platform/paths';
import { exitCodes, fail, untilStopSignal, usage } from './output';
import { openTarget, secretsHelp, targetFromArgs, targetHelp, targetOptions } from './target';

export const migrateHelp = `Usage: flightdeck migrate <action> <url> --migrations DIR [options]

Actions:
  status            the database's version, dirty state with its record, drift and pending files
  up [N]            apply the next N pending migrations (all when N is not given)
  down [N]          revert the last N applied migrations (default 1; --all to revert every one)
  goto V            go up or down to version V (0: revert everything)
  force V           declare the schema is at version V after a repair by hand (clears dirty)

Reads golang-migrate (0001_x.up.sql / .down.sql), _up.sql / _down.sql and Flyway (V1__x.sql,
undo U1__x.sql) sets. The version is kept in schema_migrations exactly as golang-migrate keeps it.
On MongoDB it runs migrate-mongo sets (20240101120000-name.js / .cjs / .mjs exporting up and down)
and keeps migrate-mongo's changelog collection as migrate-mongo does; the version is the newest
applied file's timestamp.

  <url>                     postgres://…, mysql://… or mongodb://…/db (see flightdeck connect --help)
  --migrations DIR          the folder of migration files (required)
${targetHelp}
  --lock-timeout MS         lock_timeout of every migration statement (default 200; MySQL and
                            MariaDB count whole seconds, so at least 1 s there)
  --statement-timeout MS    statement_timeout of migration statements (default 0: none)
  --lock-retries N          attempts per statement or transaction when a lock is not granted
                            (default ${defaultLockRetry.attempts}, with growing, jittered pauses)
  --runner-wait MS          how long to wait for another runner's lock (default ${defaultRunnerLockWaitMs})
  --journal-dir DIR         where run journals go (default <data dir>/journal)
  --all                     with down: revert every applied migration
  --json                    print {"ok":true,"result":…} or {"ok":false,"error":…}

${secretsHelp}
Exit codes: 0 done, 1 a migration or the connection failed (the record says what took effect),
2 bad command line, URL or migration files.`;

const actions = ['status', 'up', 'down', 'goto', 'force'] as const;

function intArg(value: string | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`${name} ${value} is not a whole number between ${min} and ${max}.`, 'Run `flightdeck migrate --help`.');
  return n;
}

export async function migrateCommand(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...targetOptions,
        migrations: { type: 'string' },
        'lock-timeout': { type: 'string' },
        'statement-timeout': { type: 'string' },
        'lock-retries': { type: 'string' },
        'runner-wait': { type: 'string' },
        'journal-dir': { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${migrateHelp}\n`);
      return exitCodes.ok;
    }
    const [action, ...rest] = positionals;
    if (!actions.includes(action as (typeof actions)[number])) throw usage(`migrate needs an action: ${actions.join(', ')}${action ? ` (got "${action}")` : ''}.`, 'For example: flightdeck migrate up postgres://app@db/shop --migrations ./migrations');
    const needsNumber = action === 'goto' || action === 'force';
    const optionalNumber = action === 'up' || action === 'down';
    let n: number | undefined;
    let url: string | undefined;
    if (needsNumber) {
      if (rest.length !== 2) throw usage(`migrate ${action} takes a version and a URL.`, `For example: flightdeck migrate ${action} 12 postgres://app@db/shop --migrations ./migrations`);
      n = intArg(rest[0], 'version', 0);
      url = rest[1];
    } else if (optionalNumber && rest.length === 2) {
      n = intArg(rest[0], 'N', 1);
      url = rest[1];
    } else if (rest.length === 1) {
      url = rest[0];
    } else {
      throw usage(`migrate ${action} takes ${optionalNumber ? 'an optional count and ' : ''}one connection URL.`, migrateHelp.split('\n')[0]!);
    }
    if (!values.migrations) throw usage('--migrations DIR is required.', 'Give the folder that holds the migration files, e.g. --migrations ./db/migrations.');
    if (action === 'down' && values.all && n !== undefined) throw usage('down takes either N or --all, not both.', 'flightdeck migrate down 2 … or flightdeck migrate down --all …');

    const set = await readMigrationSet(values.migrations);
    const lockTimeoutMs = intArg(values['lock-timeout'], '--lock-timeout', 1, 600_000) ?? 200;
    const statementTimeoutMs = intArg(values['statement-timeout'], '--statement-timeout', 0) ?? 0;
    const attempts = intArg(values['lock-retries'], '--lock-retries', 1, 1000) ?? defaultLockRetry.attempts;
    const runnerLockWaitMs = intArg(values['runner-wait'], '--runner-wait', 0) ?? defaultRunnerLockWaitMs;
    const journalDir = path.resolve(values['journal-dir'] ?? path.join(defaultDataDir(), 'journal'));
    const log = (level: string, message: string) => process.stderr.write(`${level === 'info' ? '' : `${level}: `}${message}\n`);

    const target = await targetFromArgs(url!, values);
    if (target.profile.engine === 'mongodb' && !target.profile.database) {
      throw usage('The MongoDB URL names no database; migrate-mongo migrations run in one database.', 'Name it in the URL, e.g. mongodb://app@db.example.com:27017/shop?authSource=admin.');
    }
    // Two sessions: the run's own, and one to cancel its statement on Ctrl-C.
    const conn = await openTarget(target, { role: 'migration', poolSize: 2, lockTimeoutMs, statementTimeoutMs });
    const abort = new AbortController();
    void untilStopSignal().then(() => {
      process.stderr.write(
        target.profile.engine === 'mongodb'
          ? 'Cancelling: the run stops once the running migration function returns (MongoDB operations cannot be rolled back).\n'
          : 'Cancelling: the running statement is cancelled and its transaction rolled back; the record will say what took effect.\n',
      );
      abort.abort();
    });
    try {
      if (action === 'status') {
        const status = await migrationStatus(conn, set);
        if (json) process.stdout.write(`${JSON.stringify({ ok: true, result: { set: summarise(set), status } }, null, 2)}\n`);
        else process.stdout.write(formatStatus(set.dir, summarise(set).formatLabel, status, set.problems.map((p) => `${p.severity} ${p.file ? `${p.file}: ` : ''}${p.message}`)));
        return exitCodes.ok;
      }
      if (action === 'force') {
        const r = await forceVersion(conn, set, n!, { journalDir, runnerLockWaitMs, onLog: json ? undefined : log });
        if (json) process.stdout.write(`${JSON.stringify({ ok: true, result: r }, null, 2)}\n`);
        return exitCodes.ok;
      }
      const runAction: RunAction = action === 'up' ? { kind: 'up', ...(n !== undefined ? { steps: n } : {}) } : action === 'down' ? { kind: 'down', steps: values.all ? 'all' : (n ?? 1) } : { kind: 'goto', version: n! };
      let lastShown = 0;
      const result = await runMigrations(conn, set, runAction, {
        journalDir,
        lockTimeoutMs,
        runnerLockWaitMs,
        lockRetry: { ...defaultLockRetry, attempts },
        signal: abort.signal,
        onLog: log,
        onProgress: (p) => {
          if (json || !process.stderr.isTTY || Date.now() - lastShown < 500) return;
          lastShown = Date.now();
          process.stderr.write(`  ${(p.fraction * 100).toFixed(0)}% ${p.done}/${p.total} statements, ${p.ratePerSec.toFixed(1)}/s${p.etaMs !== null ? `, about ${Math.ceil(p.etaMs / 1000)} s left` : ''}\n`);
        },
      });
      if (json) process.stdout.write(`${JSON.stringify({ ok: true, result }, null, 2)}\n`);
      else process.stdout.write(formatRun(result, target.profile.engine === 'mongodb'));
      return exitCodes.ok;
    } finally {
      await conn.close();
    }
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      return fail(usage(e.message, 'Run `flightdeck migrate --help`.'), json);
    }
    const code = fail(e, json);
    // Files that cannot run are the input's fault, as a bad URL is.
    return e instanceof FlightdeckError && (e.code === 'MIGRATION_SET_INVALID' || e.code === 'MIGRATION_SYNTAX') ? exitCodes.usage : code;
  }
}

function formatRun(r: RunResult, mongo = false): string {
  const lines = r.steps.map((s) => `${s.direction === 'up' ? 'applied ' : 'reverted'} ${String(s.version).padStart(6)} ${s.title}  ${mongo ? `${s.direction} function` : `${s.statements} statements`}, ${s.durationMs} ms${s.lockRetries ? `, ${s.lockRetries} lock retries` : ''}`);
  lines.push(`version ${r.fromVersion ?? 0} -> ${r.toVersion ?? 0} in ${r.durationMs} ms (${r.steps.length} step${r.steps.length === 1 ? '' : 's'})`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push(`journal ${r.journalFile}`);
  return `${lines.join('\n')}\n`;
}

function formatStatus(dir: string, formatLabel: string, s: MigrationStatus, problems: string[]): string {
  const lines = [
    `set         ${dir} (${formatLabel})`,
    `version     ${s.version ?? 'none'}${s.dirty ? '  DIRTY' : ''}`,
    `applied     ${s.applied.length}, pending ${s.pending.length}${s.pending.length ? ` (next: ${s.pending[0]!.version} ${s.pending[0]!.title})` : ''}`,
  ];
  if (s.failure) {
    const f = s.failure;
    lines.push(`failure     ${f.direction} ${f.version}${f.statement ? ` at ${f.statement.file}:${f.statement.line}` : ''}: ${f.error.message}`);
    lines.push(`  in effect     ${f.applied.length ? f.applied.map((a) => `#${a.index + 1} line ${a.line} ${a.summary}`).join('\n                ') : 'none'}`);
    lines.push(`  not applied   ${f.notApplied.length ? f.notApplied.map((a) => `#${a.index + 1} line ${a.line} ${a.summary}`).join('\n                ') : 'none'}`);
    lines.push(`  next step     ${f.nextStep}`);
  }
  for (const d of s.drift) lines.push(`drift       ${d.file} changed after it was applied`);
  if (s.unknownApplied.length) lines.push(`unknown     the database has version(s) ${s.unknownApplied.join(', ')} that the folder does not`);
  const without = s.applied.filter((a) => a.checksum === null).length;
  if (without) lines.push(`note        ${without} applied version(s) have no Flightdeck checksum (applied by another tool or forced)`);
  if (s.flyway) lines.push(`flyway      ${s.flyway.table}: ${s.flyway.entries} entries, latest ${s.flyway.latestVersion ?? 'none'}${s.flyway.failed.length ? `, ${s.flyway.failed.length} failed` : ''}`);
  for (const p of problems) lines.push(`set ${p}`);
  return `${lines.join('\n')}\n`;
}

// `flightdeck check`: Phase 0 from a terminal or a CI pipeline. Exit code 0 when the gate lets the
// window proceed, 1 when it blocks, 2 when the checks could not be run at all.
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CheckResult } from '../../shared/checks';
import { FlightdeckError } from '../../shared/errors';
import type { OpenConnection } from '../connections/connect';
import { profileFromUrl, redactUrl } from '../connections/url';
import { readMigrationSet, type MigrationSet } from '../migrations/migration-set';
import { defaultPhase0Settings, type Phase0Context } from '../phases/phase0/context';
import { phase0Checks, runPhase0, type Phase0Report } from '../phases/phase0/run-phase0';
import { defaultDataDir } from '../platform/paths';
import { exitCodes, fail, untilStopSignal, usage } from './output';
import { openTarget, pgbouncerConsole, secretsHelp, targetFromArgs, targetHelp, targetOptions } from './target';

export const checkHelp = `Usage: flightdeck check --production URL --staging URL --migrations DIR [options]

Runs Phase 0, the prerequisites of a migration window: database access, migration tools, a backup
taken and read back, the age of the regular backups, staging against production (schema and data),
rollback scripts, syntax, a rolled-back dry run on staging, pool headroom, a performance baseline,
long-running queries and locks, and the confirmations only a person can give. Then the gate:
a critical failure stops the window, a high one must be fixed, a medium one may be accepted.

  --production URL          the production database (postgres://… or mysql://…)
  --staging URL             the staging database (password from FLIGHTDECK_STAGING_DB_PASSWORD)
  --migrations DIR          the migration set
  --backup-dir DIR          where the regular backups land; the newest must be < 24 h old
  --max-backup-age HOURS    instead of 24
  --dump-dir DIR            where this check's own backup goes (default <data dir>/backups)
  --long-running MS         queries and transactions older than this block (default 60000)
  --pool-min-free PERCENT   free connections needed (default 20), also of PgBouncer's pools
  --pgbouncer URL           PgBouncer's admin console in front of production, e.g.
                            postgres://admin@pooler:6432/pgbouncer (password from
                            FLIGHTDECK_PGBOUNCER_PASSWORD); checks its pools for waiting clients
  --attest ID=NAME          confirm an item only a person can (attest-dba, attest-dashboards)
  --accept ID=REASON        accept a medium failure with a written reason (it goes in the record)
  --only ID[,ID…]           run only these checks
  --tools-dir DIR           look for pg_dump, mysqldump, flyway … only in DIR (repeatable)
${targetHelp}
                            (SSH options apply to the production connection)
  --json                    print {"ok":true,"result":{checks,gate}} or {"ok":false,"error":…}

Checks: ${phase0Checks.map((c) => c.id).join(', ')}

${secretsHelp}
Exit codes: 0 the gate passes, 1 the gate blocks the window, 2 the checks could not run.`;

function pairs(values: string[] | undefined, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0 || i === v.length - 1) throw usage(`${flag} ${v} is not ID=TEXT.`, `For example ${flag} attest-dba="Jane Doe".`);
    out.set(v.slice(0, i), v.slice(i + 1));
  }
  return out;
}

export async function checkCommand(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  const opened: OpenConnection[] = [];
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...targetOptions,
        production: { type: 'string' },
        staging: { type: 'string' },
        migrations: { type: 'string' },
        'backup-dir': { type: 'string' },
        'max-backup-age': { type: 'string' },
        'dump-dir': { type: 'string' },
        'long-running': { type: 'string' },
        'pool-min-free': { type: 'string' },
        pgbouncer: { type: 'string' },
        attest: { type: 'string', multiple: true },
        accept: { type: 'string', multiple: true },
        only: { type: 'string' },
        'tools-dir': { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${checkHelp}\n`);
      return exitCodes.ok;
    }
    if (positionals.length) throw usage(`check takes no positional arguments (got ${positionals.join(' ')}).`, 'Give the databases with --production and --staging.');
    if (!values.production) throw usage('--production URL is required.', 'For example --production postgres://app@db.example.com/shop.');
    const num = (v: string | undefined, flag: string, min: number, max: number) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) throw usage(`${flag} ${v} is not a number between ${min} and ${max}.`, 'Run flightdeck check --help.');
      return n;
    };
    const now = new Date().toISOString();
    const attest = pairs(values.attest, '--attest');
    const accept = pairs(values.accept, '--accept');
    for (const id of [...attest.keys(), ...accept.keys()]) {
      if (!phase0Checks.some((c) => c.id === id)) throw usage(`There is no Phase 0 check "${id}".`, `The checks are: ${phase0Checks.map((c) => c.id).join(', ')}.`);
    }
    const by = process.env.USER ?? 'cli';
    const pgbouncer = values.pgbouncer ? pgbouncerConsole(values.pgbouncer, values.timeout) : undefined;
    const dataDir = defaultDataDir();

    let set: MigrationSet | undefined;
    let setError: FlightdeckError | undefined;
    if (values.migrations) {
      try {
        set = await readMigrationSet(values.migrations);
      } catch (e) {
        if (!(e instanceof FlightdeckError)) throw e;
        setError = e;
      }
    } else {
      setError = new FlightdeckError('INVALID_INPUT', 'No migrations folder was given.', 'Give it with --migrations DIR.');
    }

    const prodTarget = await targetFromArgs(values.production, values);
    if (pgbouncer && prodTarget.profile.engine !== 'postgres') throw usage(`--pgbouncer is for PostgreSQL; production is ${prodTarget.profile.engine}.`, 'Leave out --pgbouncer for this database.');
    const production = await openTarget(prodTarget, { role: 'connect', poolSize: 3, statementTimeoutMs: 300_000, lockTimeoutMs: 2000 });
    opened.push(production);
    let staging: OpenConnection | undefined;
    if (values.staging) {
      const stagingTarget = await targetFromArgs(values.staging, { timeout: values.timeout });
      // Production's password (FLIGHTDECK_DB_PASSWORD, PGPASSWORD) must never be sent to staging.
      const stagingPassword = profileFromUrl(values.staging, { id: 'staging' }).password ?? process.env.FLIGHTDECK_STAGING_DB_PASSWORD;
      stagingTarget.secrets = stagingPassword === undefined ? {} : { dbPassword: stagingPassword };
      staging = await openTarget(stagingTarget, { role: 'connect', poolSize: 3, statementTimeoutMs: 300_000, lockTimeoutMs: 2000 });
      opened.push(staging);
    }
    const abort = new AbortController();
    void untilStopSignal().then(() => abort.abort());
    const ctx: Phase0Context = {
      production,
      ...(prodTarget.secrets.dbPassword !== undefined ? { productionPassword: prodTarget.secrets.dbPassword } : {}),
      ...(staging ? { staging } : {}),
      ...(set ? { set } : {}),
      ...(setError ? { setError } : {}),
      signal: abort.signal,
      settings: {
        ...defaultPhase0Settings,
        ...(values['backup-dir'] ? { backupDir: path.resolve(values['backup-dir']) } : {}),
        maxBackupAgeHours: num(values['max-backup-age'], '--max-backup-age', 0.01, 24 * 365) ?? defaultPhase0Settings.maxBackupAgeHours,
        dumpDir: path.resolve(values['dump-dir'] ?? path.join(dataDir, 'backups')),
        baselineDir: path.join(dataDir, 'baselines'),
        longRunningMs: num(values['long-running'], '--long-running', 100, 86_400_000) ?? defaultPhase0Settings.longRunningMs,
        poolMinFreeFraction: (num(values['pool-min-free'], '--pool-min-free', 0, 100) ?? defaultPhase0Settings.poolMinFreeFraction * 100) / 100,
        ...(pgbouncer ? { pgbouncer } : {}),
        ...(values['tools-dir'] ? { tools: { dirs: values['tools-dir'].map((d) => path.resolve(d)) } } : {}),
        attestations: Object.fromEntries([...attest].map(([id, name]) => [id, { by: name, at: now }])),
        accepted: Object.fromEntries([...accept].map(([id, reason]) => [id, { by, at: now, reason }])),
      },
    };
    const report = await runPhase0(ctx, {
      ...(values.only ? { only: values.only.split(',').map((s) => s.trim()) } : {}),
      onUpdate: (c, i, total) => {
        if (!json && c.status !== 'running') process.stderr.write(`[${i}/${total}] ${mark(c)} ${c.title}: ${c.summary}\n`);
      },
    });
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, result: report }, null, 2)}\n`);
    else process.stdout.write(formatReport(report));
    return report.gate.mayProceed ? exitCodes.ok : exitCodes.failed;
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return fail(usage(e.message, 'Run `flightdeck check --help`.'), json);
    fail(e, json);
    return exitCodes.usage;
  } finally {
    await Promise.all(opened.map((c) => c.close()));
  }
}

function mark(c: CheckResult): string {
  return { pass: 'PASS', fail: 'FAIL', error: 'ERROR', skipped: 'SKIP', pending: 'PENDING', queued: '…', running: '…' }[c.status];
}

function formatReport(r: Phase0Report): string {
  const lines = [`Phase 0 for ${r.production}${r.staging ? ` (staging ${r.staging})` : ''}`, ''];
  for (const c of r.checks) {
    lines.push(`${mark(c).padEnd(7)} ${c.severity.padEnd(8)} ${c.id.padEnd(22)} ${c.summary}`);
    if (c.status !== 'pass' && c.hint) lines.push(`${' '.repeat(40)}hint: ${c.hint}`);
    if (c.accepted) lines.push(`${' '.repeat(40)}accepted by ${c.accepted.by}: ${c.accepted.reason}`);
    if (c.status === 'fail' && c.evidence.text) lines.push(c.evidence.text.split('\n').map((l) => `${' '.repeat(40)}${l}`).join('\n'));
  }
  lines.push('', `gate [${r.gate.verdict}]: ${r.gate.message}`);
  return `${lines.join('\n')}\n`;
}

// `flightdeck plan`: Phase 1's analysis of a migration set for terminals and CI: every statement's
// class, locks, rewrites and what it blocks, the lint findings with their safe rewrites, and with
// --trace the locks the statements really take on a scratch copy of staging. Exit code 1 while an
// unsilenced finding of severity error remains.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { downtimeModes, migrationRisks, pgLockNames, type DowntimeMode, type MigrationRisk, type PlanReport } from '../../shared/plan';
import type { Engine } from '../../shared/profile';
import { buildPlan } from '../analysis/build-plan';
import type { HostKeyPolicy } from '../connections/ssh/host-keys';
import type { OpenConnection } from '../connections/connect';
import { profileFromUrl } from '../connections/url';
import { enginesOf, readMigrationSet } from '../migrations/migration-set';
import { exitCodes, fail, usage } from './output';
import { openTarget, secretsHelp, targetFromArgs, targetHelp, targetOptions } from './target';

export const planHelp = `Usage: flightdeck plan --migrations DIR [options]

Analyses every statement of a migration set (PostgreSQL): its class (backward compatible,
incompatible, data transformation), the lock it takes on each table, whether it rewrites or scans
the table, what it blocks; then lints it against the safety rules, each finding with the safe
rewrite. Silence a finding with a comment that gives a reason:
  -- flightdeck:ignore <rule> reason: <why>        (the next statement)
  -- flightdeck:ignore-file <rule> reason: <why>   (the whole file)

  --migrations DIR          the migration set (required)
  --engine postgres         the set's engine (default: from --staging, else postgres)
  --staging URL             the staging database (password from FLIGHTDECK_STAGING_DB_PASSWORD)
  --production URL          production, for table sizes, row counts and foreign keys (estimates)
                            (password from FLIGHTDECK_DB_PASSWORD or PGPASSWORD)
  --trace                   run each pending statement on a scratch copy of staging's schema and
                            report the locks and rewrites it really takes (needs CREATEDB there)
  --risk low|medium|high|critical          $MIGRATION_RISK (default medium)
  --downtime zero-downtime|maintenance-window  $DOWNTIME_ALLOWED (default zero-downtime)
${targetHelp}
                            (SSH options apply to the staging connection)
  --json                    print {"ok":true,"result":…} or {"ok":false,"error":…}

${secretsHelp}
Exit codes: 0 no unsilenced error finding, 1 at least one, 2 bad command line, files or connection.`;

export async function planCommand(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  let staging: OpenConnection | undefined;
  let production: OpenConnection | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...targetOptions,
        migrations: { type: 'string' },
        engine: { type: 'string' },
        staging: { type: 'string' },
        production: { type: 'string' },
        trace: { type: 'boolean', default: false },
        risk: { type: 'string' },
        downtime: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${planHelp}\n`);
      return exitCodes.ok;
    }
    if (positionals.length) throw usage(`plan takes no positional arguments (got ${positionals.join(' ')}).`, 'Give the folder with --migrations DIR.');
    if (!values.migrations) throw usage('--migrations DIR is required.', 'For example: flightdeck plan --migrations ./db/migrations');
    const risk = (values.risk ?? 'medium') as MigrationRisk;
    if (!migrationRisks.includes(risk)) throw usage(`--risk ${values.risk} is not one of ${migrationRisks.join(', ')}.`, 'For example --risk high.');
    const downtime = (values.downtime ?? 'zero-downtime') as DowntimeMode;
    if (!downtimeModes.includes(downtime)) throw usage(`--downtime ${values.downtime} is not one of ${downtimeModes.join(', ')}.`, 'For example --downtime maintenance-window.');
    if (values.trace && !values.staging) throw usage('--trace needs --staging URL: the trace runs on a scratch copy of staging\'s schema.', 'Add --staging postgres://…');
    const engine = (values.engine ?? (values.staging ? profileFromUrl(values.staging, { id: 'staging' }).profile.engine : 'postgres')) as Engine;
    if (!['postgres', 'mysql', 'mongodb'].includes(engine)) throw usage(`--engine ${engine} is not one of postgres, mysql, mongodb.`, 'For example --engine postgres.');
    const set = await readMigrationSet(path.resolve(values.migrations));
    if (set.format && !enginesOf(set.format).includes(engine)) throw usage(`The set is in ${set.format} format, which holds no ${engine} migrations.`, 'Pick the engine the set is written for.');
    let hostKeys: HostKeyPolicy | undefined;
    let stagingPassword: string | undefined;
    if (values.trace) {
      const target = await targetFromArgs(values.staging!, values);
      stagingPassword = profileFromUrl(values.staging!, { id: 'staging' }).password ?? process.env.FLIGHTDECK_STAGING_DB_PASSWORD;
      target.secrets = stagingPassword === undefined ? {} : { dbPassword: stagingPassword };
      hostKeys = target.hostKeys;
      staging = await openTarget(target, { role: 'connect', poolSize: 2 });
    }
    if (values.production) {
      production = await openTarget(await targetFromArgs(values.production, { timeout: values.timeout }), { role: 'connect', poolSize: 1 });
    }
    const report = await buildPlan(set, {
      engine,
      risk,
      downtime,
      trace: values.trace,
      ...(production ? { production } : {}),
      ...(staging ? { staging } : {}),
      ...(stagingPassword !== undefined ? { stagingPassword } : {}),
      ...(hostKeys ? { hostKeys } : {}),
      onProgress: (label, done, total) => {
        if (!json && process.stderr.isTTY) process.stderr.write(`\r${label} ${done}/${total}`.padEnd(80));
      },
    });
    if (!json && process.stderr.isTTY && values.trace) process.stderr.write('\n');
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, result: report }, null, 2)}\n`);
    else process.stdout.write(formatPlan(report));
    return report.counts.error > 0 ? exitCodes.failed : exitCodes.ok;
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return fail(usage(e.message, 'Run `flightdeck plan --help`.'), json);
    fail(e, json);
    return exitCodes.usage;
  } finally {
    await staging?.close();
    await production?.close();
  }
}

const classLabels = { 'backward-compatible': 'compatible', 'backward-incompatible': 'INCOMPATIBLE', 'data-transformation': 'data', other: 'other' } as const;

function formatPlan(r: PlanReport): string {
  const lines: string[] = [];
  for (const p of r.problems) lines.push(`set ${p.severity}: ${p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : ''}${p.message}`);
  if (r.problems.length) lines.push('');
  for (const m of r.migrations) {
    lines.push(`${m.version} ${m.title}  [${classLabels[m.class]}]${m.strongestLock ? `  strongest lock: ${pgLockNames[m.strongestLock.lock]} on ${m.strongestLock.table}, blocks ${m.blocks}` : ''}`);
    for (const f of [m.up, m.down]) {
      if (!f) continue;
      if (f.parseError) {
        lines.push(`  ${f.file}:${f.parseError.line}: does not parse: ${f.parseError.message.split('\n')[0]}`);
        continue;
      }
      if (f.direction === 'up') {
        for (const e of m.estimates) lines.push(`  estimate line ${e.line}: ${e.operation} of ${e.table}${e.rows !== null ? ` (${e.rows.toLocaleString('en')} rows)` : ''}: ${e.time}; ${e.window}${e.foreignKeys.length ? `; foreign keys: ${e.foreignKeys.join(', ')}` : ''}`);
        for (const s of f.statements) {
          const locks = s.unparsed
            ? `not parsed: ${s.unparsed}`
            : s.online
              ? `ALGORITHM=${s.online.algorithm}, LOCK=${s.online.lock}${s.online.rebuild ? ', rebuilds the table' : ''}`
              : s.locks.map((l) => `${pgLockNames[l.lock]} ${l.table}`).join(', ') || (r.engine === 'mongodb' ? (s.blocks === 'nothing' ? 'no blocking lock' : `blocks ${s.blocks}`) : 'no table lock');
          const extra = [s.rewrites.length ? `rewrites ${s.rewrites.join(', ')}` : '', s.scans.length ? `scans ${s.scans.join(', ')}` : '', s.outsideTransaction ? 'outside a transaction' : ''].filter(Boolean).join('; ');
          lines.push(`  ${String(s.line).padStart(4)}  ${s.command.padEnd(34)} ${locks}${extra ? `; ${extra}` : ''}`);
          if (s.trace) {
            const traced = s.trace.error ?? (s.trace.differences.length ? `trace differs: ${s.trace.differences.join('; ')}` : `trace agrees${s.trace.rewrites.length ? ` (rewrote ${s.trace.rewrites.join(', ')})` : ''}`);
            lines.push(`        ${traced}`);
          }
        }
      }
      for (const x of f.findings) {
        lines.push(`  ${x.silenced ? 'silenced' : x.severity.padEnd(8)} ${x.rule} ${x.file}:${x.line}: ${x.message}${x.silenced ? ` (reason: ${x.silenced.reason})` : ''}`);
        if (!x.silenced) lines.push(...x.rewrite.split('\n').map((l) => `           ${l}`));
      }
    }
  }
  if (r.strategy) {
    lines.push('', `strategy: ${r.strategy.strategy} (risk ${r.strategy.risk}, ${r.strategy.downtime})`);
    for (const reason of r.strategy.reasons) lines.push(`  - ${reason}`);
    for (const p of r.strategy.phases) {
      lines.push(`  ${p.name}:`);
      for (const step of p.steps) lines.push(...step.split('\n').map((l, i) => `    ${i === 0 ? '•' : ' '} ${l}`));
    }
  }
  lines.push('', `${r.counts.statements} statements; ${r.counts.error} errors, ${r.counts.warning} warnings, ${r.counts.info} notes, ${r.counts.silenced} silenced${r.counts.unparsed ? `; ${r.counts.unparsed} file(s) do not parse` : ''}${r.traced ? '; traced on a scratch copy of staging' : ''}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}


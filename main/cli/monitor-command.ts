// `flightdeck monitor <url>`: the health panels' samples for scripts and terminals, one per
// interval, through the same dedicated monitoring session the cockpit uses.
import { parseArgs } from 'node:util';
import type { Sample } from '../../shared/monitor';
import { FlightdeckError } from '../../shared/errors';
import { isSqlSession } from '../connections/adapter';
import { monitorSessionLimits } from '../monitor/monitor-service';
import { samplers } from '../monitor/samplers';
import { exitCodes, fail, untilStopSignal, usage } from './output';
import { openTarget, secretsHelp, targetFromArgs, targetHelp, targetOptions } from './target';

export const monitorHelp = `Usage: flightdeck monitor <url> [options]

Samples connection pool, locks, replication, activity and top statements, as the cockpit's health
panels do, until Ctrl-C. Rates (commits/s, calls/s) need two readings, so the first line comes
after one interval.

  <url>                     postgres://… or mysql://… (see flightdeck connect --help)
${targetHelp}
  --interval MS             time between samples (default 1000, at least 250)
  --long-running MS         list queries and transactions longer than this (default 60000)
  --once                    print one sample and exit
  --json                    one JSON sample per line

${secretsHelp}
Exit codes: 0 done, 1 the connection failed, 2 bad command line or URL.`;

export async function monitorCommand(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...targetOptions,
        interval: { type: 'string' },
        'long-running': { type: 'string' },
        once: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${monitorHelp}\n`);
      return exitCodes.ok;
    }
    if (positionals.length !== 1) throw usage('monitor takes exactly one connection URL.', monitorHelp.split('\n')[0]!);
    const intervalMs = values.interval === undefined ? 1000 : Number(values.interval);
    if (!Number.isInteger(intervalMs) || intervalMs < 250 || intervalMs > 3_600_000) throw usage(`--interval ${values.interval} is not a number of milliseconds of at least 250.`, 'For example --interval 1000.');
    const longRunningMs = values['long-running'] === undefined ? 60_000 : Number(values['long-running']);
    if (!Number.isInteger(longRunningMs) || longRunningMs < 0) throw usage(`--long-running ${values['long-running']} is not a number of milliseconds.`, 'For example --long-running 60000.');

    const target = await targetFromArgs(positionals[0]!, values);
    const factory = samplers[target.profile.engine];
    if (!factory) throw new FlightdeckError('ENGINE_UNSUPPORTED', `Health sampling is not available for ${target.profile.engine} yet.`, 'Use a postgres:// or mysql:// URL.');
    const conn = await openTarget(target, { role: 'monitor', poolSize: 1, ...monitorSessionLimits });
    try {
      if (!isSqlSession(conn.session)) throw new FlightdeckError('ENGINE_UNSUPPORTED', `Health sampling is not available for ${target.profile.engine} yet.`, 'Use a postgres:// or mysql:// URL.');
      const sampler = factory(conn.session, { profileId: 'cli', longRunningMs, topStatements: 10 });
      let stop = false;
      if (!values.once) void untilStopSignal().then(() => (stop = true));
      // The first reading only primes the counters.
      await sampler.sample();
      while (!stop) {
        await sleep(intervalMs, () => stop);
        if (stop) break;
        const sample = await sampler.sample();
        process.stdout.write(json ? `${JSON.stringify(sample)}\n` : formatSample(sample));
        if (values.once) break;
      }
    } finally {
      await conn.close();
    }
    return exitCodes.ok;
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return fail(usage(e.message, 'Run `flightdeck monitor --help`.'), json);
    return fail(e, json);
  }
}

async function sleep(ms: number, cancelled: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!cancelled() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

const bytes = (n: number | null) => (n === null ? '?' : n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`);
const rate = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toFixed(1));

export function formatSample(s: Sample): string {
  const time = new Date(s.time).toISOString().slice(11, 19);
  const lines = [`${time}  sampled in ${s.durationMs.toFixed(0)} ms`];
  if (s.pool) lines.push(`  pool        ${s.pool.total}/${s.pool.max} (active ${s.pool.active}, idle ${s.pool.idle}, idle in tx ${s.pool.idleInTransaction}, waiting ${s.pool.waiting})`);
  if (s.locks) {
    lines.push(`  locks       ${s.locks.waiting} waiting`);
    for (const w of s.locks.waits) lines.push(`    pid ${w.pid} waits ${Math.round(w.waitMs)} ms for ${w.mode} on ${w.relation}, blocked by ${w.blockedBy.join(', ')}`);
  }
  if (s.replication) {
    const r = s.replication;
    if (r.self) lines.push(`  replication replica, ${r.self.state}, lag ${bytes(r.self.lagBytes)} / ${r.self.lagSeconds ?? '?'} s${r.self.replayPaused ? ', replay paused' : ''}`);
    else lines.push(`  replication ${r.role}${r.replicas.map((x) => `; ${x.name} ${x.state} lag ${bytes(x.lagBytes)} / ${x.lagSeconds ?? '?'} s`).join('')}`);
  }
  if (s.activity) {
    const a = s.activity;
    lines.push(`  activity    ${rate(a.commitsPerSec)} commits/s, ${rate(a.rollbacksPerSec)} rollbacks/s, ${a.longRunning.length} long-running, ${a.idleInTransaction.length} idle in tx`);
  }
  if (s.statements) {
    if (!s.statements.available) lines.push(`  statements  unavailable: ${s.statements.hint ?? ''}`);
    for (const st of s.statements.top.slice(0, 5)) lines.push(`  ${st.totalMsPerSec.toFixed(1).padStart(8)} ms/s ${st.callsPerSec.toFixed(1).padStart(7)} calls/s  ${st.query.replace(/\s+/g, ' ').slice(0, 80)}`);
  }
  for (const e of s.errors) lines.push(`  ${e.panel}: ${e.message}`);
  return `${lines.join('\n')}\n`;
}

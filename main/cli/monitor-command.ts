// `flightdeck monitor <url>`: the health panels' samples for scripts and terminals, one per
// interval, through the same dedicated monitoring session the cockpit uses.
import { parseArgs } from 'node:util';
import type { Sample } from '../../shared/monitor';
import { FlightdeckError } from '../../shared/errors';
import { HostSampler, readDataDirectory, sampleWithHost } from '../monitor/host-sampler';
import { monitorSessionLimits } from '../monitor/monitor-service';
import { PgBouncerSampler } from '../monitor/pgbouncer-sampler';
import { samplers } from '../monitor/samplers';
import { defaultStorageOptions, StorageSchedule } from '../monitor/storage';
import { storageReaders } from '../monitor/storage-readers';
import { exitCodes, fail, untilStopSignal, usage } from './output';
import { openTarget, pgbouncerConsole, secretsHelp, targetFromArgs, targetHelp, targetOptions } from './target';

export const monitorHelp = `Usage: flightdeck monitor <url> [options]

Samples connection pool, locks, replication, activity and top statements, as the cockpit's health
panels do, until Ctrl-C. Rates (commits/s, calls/s) need two readings, so the first line comes
after one interval. Through --ssh, the SSH server's CPU, load, memory and data disk come along.

  <url>                     postgres://…, mysql://… or mongodb://… (see flightdeck connect --help)
${targetHelp}
  --interval MS             time between samples (default 1000, at least 250)
  --long-running MS         list queries and transactions longer than this (default 60000)
  --storage                 also read table sizes, bloat and unused indexes, between samples
  --storage-interval MS     how often storage is read (default 60000)
  --pgbouncer URL           PgBouncer's admin console in front of the database, e.g.
                            postgres://admin@pooler:6432/pgbouncer (password from
                            FLIGHTDECK_PGBOUNCER_PASSWORD); its pools come with each sample
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
        storage: { type: 'boolean', default: false },
        'storage-interval': { type: 'string' },
        pgbouncer: { type: 'string' },
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

    const storageIntervalMs = values['storage-interval'] === undefined ? 60_000 : Number(values['storage-interval']);
    if (!Number.isInteger(storageIntervalMs) || storageIntervalMs < 1000) throw usage(`--storage-interval ${values['storage-interval']} is not a number of milliseconds of at least 1000.`, 'For example --storage-interval 60000.');

    const target = await targetFromArgs(positionals[0]!, values);
    const { profile } = target;
    const factory = samplers[profile.engine];
    if (!factory) throw new FlightdeckError('ENGINE_UNSUPPORTED', `Health sampling is not available for ${profile.engine}.`, 'Use a postgres://, mysql:// or mongodb:// URL.');
    if (values.pgbouncer && profile.engine !== 'postgres') throw usage(`--pgbouncer is for PostgreSQL; this is ${profile.engine}.`, 'Leave out --pgbouncer for this database.');
    const pooler = values.pgbouncer ? new PgBouncerSampler({ console: { ...pgbouncerConsole(values.pgbouncer, values.timeout), hostKeys: target.hostKeys }, database: profile.database, log: target.log }) : undefined;
    const conn = await openTarget(target, { role: 'monitor', poolSize: 1, ...monitorSessionLimits });
    try {
      const sampler = factory(conn.session, { profileId: 'cli', longRunningMs, topStatements: 10 });
      const tunnel = conn.tunnel;
      const host = tunnel && profile.ssh ? new HostSampler({ host: profile.ssh.host, run: (command, timeoutMs) => tunnel.exec(command, timeoutMs), dataDir: await readDataDirectory(conn.session), log: target.log }) : undefined;
      const storageReader = values.storage ? storageReaders[profile.engine]?.(conn.session, defaultStorageOptions) : undefined;
      const storage = storageReader ? new StorageSchedule(storageIntervalMs) : undefined;
      let stop = false;
      if (!values.once) void untilStopSignal().then(() => (stop = true));
      // The first reading only primes the counters (and starts the host and pooler readings).
      for (let first = true; !stop; first = false) {
        // Statement statistics are read between samples (sampler.between): after each sample, and
        // again right before the next when due by then, so the line printed carries the newest
        // reading, --once included.
        if (!first) await sampler.between?.(monitorSessionLimits.statementTimeoutMs);
        const started = Date.now();
        void pooler?.refresh();
        const sample = await sampleWithHost(() => sampler.sample(), host);
        if (pooler) sample.pooler = pooler.panel();
        const reading = storage?.latest();
        if (reading) sample.storage = reading;
        if (!first) {
          process.stdout.write(json ? `${JSON.stringify(sample)}\n` : formatSample(sample));
          if (values.once) break;
        }
        // The costly readings (statement statistics, then storage) run on the same session in the
        // gap before the next sample, never beside it.
        await sampler.between?.(monitorSessionLimits.statementTimeoutMs);
        if (storage && storageReader) await storage.readIfDue(storageReader, intervalMs - (Date.now() - started), monitorSessionLimits.statementTimeoutMs);
        await sleep(intervalMs - (Date.now() - started), () => stop);
      }
    } finally {
      await pooler?.close();
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

const bytes = (n: number | null) =>
  n === null ? '?' : n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 1 << 30 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / (1 << 30)).toFixed(1)} GiB`;
const rate = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toFixed(1));

export function formatSample(s: Sample): string {
  const time = new Date(s.time).toISOString().slice(11, 19);
  const lines = [`${time}  sampled in ${s.durationMs.toFixed(0)} ms`];
  if (s.pool) lines.push(`  pool        ${s.pool.total}/${s.pool.max} (active ${s.pool.active}, idle ${s.pool.idle}, idle in tx ${s.pool.idleInTransaction}, waiting ${s.pool.waiting})`);
  if (s.pooler) {
    const p = s.pooler;
    if (p.error) lines.push(`  pgbouncer   ${p.error.message}`);
    for (const x of p.pools) lines.push(`  pgbouncer   ${x.database}/${x.user} ${x.mode}: ${x.clientsActive} clients, ${x.clientsWaiting} waiting (max wait ${x.maxWaitSeconds.toFixed(1)} s), servers ${x.serversActive}/${x.poolSize}`);
    if (!p.error && p.readAt !== null && p.pools.length === 0) lines.push('  pgbouncer   no pool for this database yet');
  }
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
    const ops = a.operationsPerSec ? `, ${rate(Object.values(a.operationsPerSec).reduce((n, v) => n + v, 0))} ops/s` : '';
    lines.push(`  activity    ${rate(a.commitsPerSec)} commits/s, ${rate(a.rollbacksPerSec)} rollbacks/s${ops}, ${a.longRunning.length} long-running, ${a.idleInTransaction.length} idle in tx`);
  }
  if (s.host) {
    const h = s.host;
    if (h.error) lines.push(`  host        ${h.error.message}`);
    else if (h.readAt !== null)
      lines.push(
        `  host        ${h.host}: cpu ${h.cpu ? `${h.cpu.usedPct.toFixed(0)}%` : '–'}, load ${h.load1 ?? '–'}, mem ${h.mem ? `${h.mem.usedPct.toFixed(0)}%` : '–'}${h.disk ? `, ${h.disk.path} ${bytes(h.disk.freeBytes)} free (${h.disk.usedPct}% used)` : ''}`,
      );
  }
  if (s.storage) {
    const st = s.storage;
    if (st.error) lines.push(`  storage     ${st.error.message}`);
    if (st.readAt !== null) {
      lines.push(`  storage     read ${new Date(st.readAt).toISOString().slice(11, 19)}, ${st.unusedIndexCount} unused index(es)`);
      for (const t of st.tables.slice(0, 5)) lines.push(`    ${bytes(t.totalBytes).padStart(10)}  ${t.schema}.${t.name}${t.bloatBytes ? ` (reclaimable ${bytes(t.bloatBytes)})` : ''}`);
    }
  }
  if (s.statements) {
    if (!s.statements.available) lines.push(`  statements  unavailable: ${s.statements.hint ?? ''}`);
    for (const st of s.statements.top.slice(0, 5)) lines.push(`  ${st.totalMsPerSec.toFixed(1).padStart(8)} ms/s ${st.callsPerSec.toFixed(1).padStart(7)} calls/s  ${st.query.replace(/\s+/g, ' ').slice(0, 80)}`);
  }
  for (const e of s.errors) lines.push(`  ${e.panel}: ${e.message}`);
  return `${lines.join('\n')}\n`;
}

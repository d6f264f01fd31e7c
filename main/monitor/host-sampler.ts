// The Host panel: CPU, load, memory and the data disk of the SSH server a profile goes through,
// read over the tunnel's own SSH connection with one command per reading (a `sh -c` that prints
// /proc/stat, /proc/loadavg, /proc/meminfo and `df -Pk <data directory>` between markers).
//
// The reading runs beside the database sample, never inside it: the monitor starts a reading, takes
// its database sample, and attaches whatever host reading is the latest by then. The command is
// bounded (1.5 s by default); a failed or slow one marks only this panel stale with its error, and
// repeated failures back off so a host with a hung file system does not collect one stuck `df` per
// second. A host without /proc (macOS, the BSDs) is reported once and never asked again.
import type { HostPanel, Sample } from '../../shared/monitor';
import { FlightdeckError } from '../../shared/errors';
import { isMongoSession, isSqlSession, type EngineSession } from '../connections/adapter';
import type { ExecResult } from '../connections/ssh/exec';
import type { Logger } from '../log';

/** Runs one shell command on the host, bounded by timeoutMs (the tunnel's exec in the app). */
export type CommandRunner = (command: string, timeoutMs: number) => Promise<ExecResult>;

/** Where the database keeps its files, as the database itself says, or why it would not say. */
export type DataDirectory = { path: string } | { error: string; hint?: string };

export const hostReadTimeoutMs = 1500;
/** After a failed reading the next waits 1 s, 2 s, 4 s … up to this. */
const maxBackoffMs = 30_000;
/** The runner bounds its command itself (the tunnel kills it and closes the channel); this is the
 * sampler's own bound on top, in case a runner does not. */
const runnerGraceMs = 250;

function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  // A runner settling after the bound must not surface as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

// ---- parsers ---------------------------------------------------------------------------------

/** The aggregate "cpu" line of /proc/stat, in USER_HZ ticks. guest and guest_nice are left out:
 * the kernel already counts them in user and nice. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export function parseProcStat(text: string): { times: CpuTimes; cpus: number } {
  let times: CpuTimes | undefined;
  let cpus = 0;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'cpu') {
      const n = fields.slice(1).map(Number);
      if (n.length < 4 || n.some((x) => !Number.isFinite(x))) throw new Error(`unexpected /proc/stat cpu line: ${line.trim()}`);
      // Kernels before 2.6.11 have no steal column, before 2.6 no iowait/irq/softirq: zero then.
      const at = (i: number) => n[i] ?? 0;
      times = { user: at(0), nice: at(1), system: at(2), idle: at(3), iowait: at(4), irq: at(5), softirq: at(6), steal: at(7) };
    } else if (/^cpu\d+$/.test(fields[0] ?? '')) cpus++;
  }
  if (!times) throw new Error('/proc/stat has no cpu line');
  return { times, cpus };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Shares of CPU time between two readings of /proc/stat, in %. Null when no time passed between
 * them. A counter that went backwards (iowait does on some tickless kernels, and CPU hot-unplug
 * drops a CPU's share) counts as zero instead of making the figures negative. */
export function cpuUsage(prev: CpuTimes, cur: CpuTimes): NonNullable<HostPanel['cpu']> | null {
  const d = (k: keyof CpuTimes) => Math.max(0, cur[k] - prev[k]);
  const user = d('user') + d('nice');
  const system = d('system') + d('irq') + d('softirq');
  const idle = d('idle');
  const iowait = d('iowait');
  const steal = d('steal');
  const total = user + system + idle + iowait + steal;
  if (total <= 0) return null;
  const pct = (x: number) => round1((100 * x) / total);
  return { usedPct: pct(user + system + steal), userPct: pct(user), systemPct: pct(system), iowaitPct: pct(iowait), stealPct: pct(steal) };
}

export function parseLoadavg(text: string): { load1: number; load5: number; load15: number } {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((x) => x !== undefined && Number.isFinite(x))) throw new Error(`unexpected /proc/loadavg: ${text.trim()}`);
  return { load1: a!, load5: b!, load15: c! };
}

export function parseMeminfo(text: string): { mem: NonNullable<HostPanel['mem']>; swap: NonNullable<HostPanel['swap']> } {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line.trim());
    if (m) kb.set(m[1]!, Number(m[2]));
  }
  const total = kb.get('MemTotal');
  if (!total) throw new Error('/proc/meminfo has no MemTotal');
  // MemAvailable came with Linux 3.14; before it, free + buffers + page cache is the usual estimate.
  const available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  const swapTotal = kb.get('SwapTotal') ?? 0;
  const swapFree = kb.get('SwapFree') ?? swapTotal;
  return {
    mem: { totalBytes: total * 1024, availableBytes: Math.min(available, total) * 1024, usedPct: round1((100 * Math.max(0, total - available)) / total) },
    swap: { totalBytes: swapTotal * 1024, usedBytes: Math.max(0, swapTotal - swapFree) * 1024 },
  };
}

export interface DfFigures {
  filesystem: string;
  mountedOn: string;
  sizeBytes: number;
  usedBytes: number;
  freeBytes: number;
  usedPct: number;
}

/**
 * One file system from `df -Pk PATH`. POSIX output (-P) is one line per file system, but a long
 * device name still wraps onto a line of its own in some df implementations without -P (and older
 * GNU ones), so the lines after the header are joined before matching. usedPct is used of used +
 * available, as df's Capacity column counts it (blocks reserved for root excluded), unrounded.
 */
export function parseDfP(text: string): DfFigures {
  const lines = text.split('\n').map((l) => l.trimEnd());
  const header = lines.findIndex((l) => /^Filesystem\s/.test(l));
  if (header < 0) throw new Error(`unexpected df output: ${firstLine(text)}`);
  const body = lines
    .slice(header + 1)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  const m = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+(\/.*)$/.exec(body);
  if (!m) throw new Error(`unexpected df output: ${body.slice(0, 200)}`);
  const [, filesystem, blocks, used, avail, mountedOn] = m;
  const usedK = Number(used);
  const availK = Number(avail);
  return {
    filesystem: filesystem!,
    mountedOn: mountedOn!,
    sizeBytes: Number(blocks) * 1024,
    usedBytes: usedK * 1024,
    freeBytes: availK * 1024,
    usedPct: usedK + availK > 0 ? round1((100 * usedK) / (usedK + availK)) : 0,
  };
}

function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').slice(0, 200) || '(no output)';
}

/** Single quotes for a POSIX shell: the one character they cannot hold is closed, escaped, reopened. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one command a reading runs. The login shell may be anything (bash, zsh, fish, tcsh), so the
 * work is done by `sh -c` with the path as $1, and the script holds no single quote, newline or
 * `!`. stat is cut to its cpu lines: the rest (interrupt counts) is kilobytes on a large machine.
 *
 * df is the one part that can hang (a stuck network file system), so it runs under timeout(1) when
 * the host has it: the SSH channel being closed does not stop it, and OpenSSH ignores signal
 * requests for root logins. A df that timed out is reported as such (not as a path to give up on);
 * one that failed otherwise (no such directory: the SSH server is not the database's host) has /
 * measured instead.
 */
export function hostCommand(diskPath: string, dfTimeoutSeconds = 2): string {
  const script = [
    'export LC_ALL=C',
    'test -r /proc/stat || { echo @@noproc; uname -s 2>/dev/null; exit 0; }',
    'echo @@stat',
    'grep ^cpu /proc/stat',
    'echo @@loadavg',
    'cat /proc/loadavg',
    'echo @@meminfo',
    'cat /proc/meminfo',
    'echo @@df',
    `if command -v timeout >/dev/null 2>&1; then t="timeout -s KILL ${Math.max(1, Math.ceil(dfTimeoutSeconds))}"; else t=; fi`,
    '$t df -Pk -- "$1" 2>&1',
    's=$?',
    'if [ $s -ge 124 ]; then echo @@df-timeout; elif [ $s -ne 0 ]; then echo @@df-fallback; $t df -Pk / 2>&1; fi',
  ].join('; ');
  return `sh -c ${shQuote(script)} flightdeck-host ${shQuote(diskPath)}`;
}

/** The marked sections of the command's output. */
export function splitSections(stdout: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  const flush = () => {
    if (name !== undefined) sections.set(name, lines.join('\n'));
  };
  for (const line of stdout.split('\n')) {
    const m = /^@@([a-z-]+)$/.exec(line.trim());
    if (m) {
      flush();
      name = m[1];
      lines = [];
    } else lines.push(line);
  }
  flush();
  return sections;
}

export type HostReading =
  | { kind: 'noproc'; system: string }
  | {
      kind: 'figures';
      cpu: { times: CpuTimes; cpus: number };
      load: { load1: number; load5: number; load15: number };
      memory: ReturnType<typeof parseMeminfo>;
      /** Set when df could not measure the asked path and measured / instead: df's complaint. */
      dfFailed?: string;
      df: DfFigures;
    };

/** Everything one reading printed, parsed; throws with what was not understood. */
export function parseHostOutput(r: ExecResult): HostReading {
  const sections = splitSections(r.stdout);
  if (sections.has('noproc')) return { kind: 'noproc', system: sections.get('noproc')!.trim() || 'an unknown system' };
  const need = (name: string) => {
    const s = sections.get(name);
    if (s === undefined || !s.trim()) throw new Error(`no ${name} in the output${r.stderr.trim() ? `: ${firstLine(r.stderr)}` : ''}`);
    return s;
  };
  if (!sections.has('stat')) {
    const why = firstLine(r.stderr || r.stdout);
    throw new Error(r.code !== null && r.code !== 0 ? `the command exited with ${r.code}: ${why}` : `unexpected output: ${why}`);
  }
  if (sections.has('df-timeout')) throw new Error('df did not finish in time (a hanging file system?)');
  const dfText = need('df');
  const fallback = sections.get('df-fallback');
  return {
    kind: 'figures',
    cpu: parseProcStat(need('stat')),
    load: parseLoadavg(need('loadavg')),
    memory: parseMeminfo(need('meminfo')),
    ...(fallback !== undefined ? { dfFailed: firstLine(dfText), df: parseDfP(fallback) } : { df: parseDfP(dfText) }),
  };
}

// ---- the data directory ----------------------------------------------------------------------

/** Asks the database where its data directory is, once per monitoring session. PostgreSQL shows
 * data_directory only to superusers and members of pg_read_all_settings (pg_monitor includes it);
 * MongoDB's getCmdLineOpts needs clusterMonitor, and a dbPath left at its default is not listed. */
export async function readDataDirectory(session: EngineSession): Promise<DataDirectory> {
  try {
    if (isMongoSession(session)) {
      const opts = await session.client().db('admin').command({ getCmdLineOpts: 1 });
      const path = (opts.parsed as { storage?: { dbPath?: string } } | undefined)?.storage?.dbPath;
      return path ? { path } : { error: 'mongod runs with its default dbPath, which getCmdLineOpts does not list' };
    }
    if (!isSqlSession(session)) return { error: `${session.engine} does not say where its data is` };
    if (session.engine === 'postgres') {
      const rows = await session.query<{ data_directory: string }>('/* flightdeck/monitor: host */ SHOW data_directory');
      const path = rows[0]?.data_directory;
      return path ? { path } : { error: 'the server returned no data_directory' };
    }
    const rows = await session.query<{ datadir: string | null }>('/* flightdeck/monitor: host */ SELECT @@datadir AS datadir');
    const path = rows[0]?.datadir;
    return path ? { path } : { error: 'the server returned no @@datadir' };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (session.engine === 'postgres') return { error: message, hint: 'Grant pg_read_all_settings (or pg_monitor) to the monitoring user so the data directory\'s disk is measured.' };
    if (session.engine === 'mongodb') return { error: message, hint: 'Grant the clusterMonitor role so the data directory\'s disk is measured.' };
    return { error: message };
  }
}

// ---- the sampler -----------------------------------------------------------------------------

export interface HostSamplerOptions {
  /** The SSH server, as the panel names it. */
  host: string;
  run: CommandRunner;
  dataDir: DataDirectory;
  timeoutMs?: number;
  log?: Logger;
  /** For log lines. */
  profileId?: string;
  now?: () => number;
}

type Figures = Omit<HostPanel, 'host' | 'error'>;

export class HostSampler {
  private readonly run: CommandRunner;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private figures: Figures = { readAt: null, cpus: null, cpu: null, load1: null, load5: null, load15: null, mem: null, swap: null, disk: null };
  private error: HostPanel['error'];
  private prevCpu: CpuTimes | undefined;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private disabled = false;
  /** The path df measures: the data directory, or / once that could not be used. */
  private measured: { path: string; dataDirectory: boolean; note?: string };

  constructor(private readonly opts: HostSamplerOptions) {
    this.run = opts.run;
    this.timeoutMs = opts.timeoutMs ?? hostReadTimeoutMs;
    this.now = opts.now ?? Date.now;
    this.measured =
      'path' in opts.dataDir
        ? { path: opts.dataDir.path, dataDirectory: true }
        : { path: '/', dataDirectory: false, note: `The data directory is unknown (${opts.dataDir.error}), so / was measured.${opts.dataDir.hint ? ` ${opts.dataDir.hint}` : ''}` };
  }

  /** Starts a reading unless one is under way, the last failure's backoff has not passed, or the
   * host cannot be read at all. Never rejects; resolves when the reading (if any) is done. */
  refresh(): Promise<void> {
    if (this.disabled) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    if (this.now() < this.nextAttemptAt) return Promise.resolve();
    this.inFlight = this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The latest figures, with the last reading's error when it failed. */
  panel(): HostPanel {
    return { host: this.opts.host, ...this.figures, ...(this.error ? { error: { ...this.error } } : {}) };
  }

  private async read(): Promise<void> {
    let reading: HostReading;
    try {
      const result = await bounded(this.run(hostCommand(this.measured.path, this.timeoutMs / 1000), this.timeoutMs), this.timeoutMs + runnerGraceMs);
      reading = parseHostOutput(result);
    } catch (e) {
      this.failed(e);
      return;
    }
    if (reading.kind === 'noproc') {
      this.disabled = true;
      this.error = {
        message: `Host figures need Linux /proc; the SSH server ${this.opts.host} runs ${reading.system}.`,
        hint: 'CPU, load, memory and disk are read from /proc and df on Linux hosts only.',
      };
      this.opts.log?.info('monitor', `${this.opts.profileId ?? this.opts.host}: host figures need Linux /proc (${this.opts.host} runs ${reading.system}); not reading them`);
      return;
    }
    if (reading.dfFailed !== undefined) {
      // Sticky: the next readings measure / directly instead of failing on the path every time.
      this.measured = { path: '/', dataDirectory: false, note: `df could not measure the data directory ${this.measured.path} (${reading.dfFailed}), so / was measured.` };
      this.opts.log?.info('monitor', `${this.opts.profileId ?? this.opts.host}: ${this.measured.note}`);
    }
    const cpu = this.prevCpu ? cpuUsage(this.prevCpu, reading.cpu.times) : null;
    this.prevCpu = reading.cpu.times;
    const { df } = reading;
    this.figures = {
      readAt: this.now(),
      cpus: reading.cpu.cpus || null,
      // Keep the last known share on a reading too close to the previous one to say anything.
      cpu: cpu ?? this.figures.cpu,
      ...reading.load,
      mem: reading.memory.mem,
      swap: reading.memory.swap,
      disk: {
        path: this.measured.path,
        dataDirectory: this.measured.dataDirectory,
        ...(this.measured.note ? { note: this.measured.note } : {}),
        filesystem: df.filesystem,
        mountedOn: df.mountedOn,
        sizeBytes: df.sizeBytes,
        freeBytes: df.freeBytes,
        usedPct: df.usedPct,
      },
    };
    if (this.failures) this.opts.log?.info('monitor', `${this.opts.profileId ?? this.opts.host}: host figures are back after ${this.failures} failed reading${this.failures === 1 ? '' : 's'}`);
    this.failures = 0;
    this.nextAttemptAt = 0;
    this.error = undefined;
  }

  private failed(e: unknown): void {
    this.failures++;
    this.nextAttemptAt = this.now() + Math.min(maxBackoffMs, 1000 * 2 ** (this.failures - 1));
    const message = e instanceof Error ? e.message : String(e);
    this.error = {
      message: `Could not read the host figures of ${this.opts.host}: ${message}`,
      hint: e instanceof FlightdeckError ? e.hint : 'The figures shown are from the last good reading; Flightdeck keeps trying.',
    };
    if (this.failures === 1) this.opts.log?.warn('monitor', `${this.opts.profileId ?? this.opts.host}: ${this.error.message}`);
  }
}

/**
 * One monitor tick with the host beside it: the host reading is started, the database sample taken,
 * and the latest host reading there is by then attached. The sample never waits for the host: a
 * reading still under way is attached at a later tick.
 */
export async function sampleWithHost(takeSample: () => Promise<Sample>, host: HostSampler | undefined): Promise<Sample> {
  if (host) void host.refresh();
  const sample = await takeSample();
  if (host) sample.host = host.panel();
  return sample;
}

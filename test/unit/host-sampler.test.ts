// The Host panel's reading: the parsers of /proc/stat, /proc/loadavg, /proc/meminfo and df -Pk
// (a long device name wrapped onto its own line included), CPU use from the delta of two readings,
// and the sampler with an injected command runner: the data-directory fallback, a host without
// /proc asked once, a failed reading that keeps the last figures, the backoff, its own time bound,
// and a slow reading that never delays the database sample it rides along with.
import { describe, expect, it } from 'vitest';
import { seriesValues, type Sample } from '../../shared/monitor';
import type { ExecResult } from '../../main/connections/ssh/exec';
import {
  cpuUsage,
  hostCommand,
  HostSampler,
  parseDfP,
  parseHostOutput,
  parseLoadavg,
  parseMeminfo,
  parseProcStat,
  sampleWithHost,
  shQuote,
  splitSections,
  type CommandRunner,
} from '../../main/monitor/host-sampler';

const stat1 = `cpu  237531 825 111668 1198644 2710 0 1902 240 0 0
cpu0 115864 407 53149 604962 745 0 559 116 0 0
cpu1 121666 417 58518 593682 1964 0 1343 123 0 0`;
// 100 ticks later: user +30, nice +0, system +15, idle +40, iowait +10, irq 0, softirq +5, steal 0.
const stat2 = `cpu  237561 825 111683 1198684 2720 0 1907 240 0 0
cpu0 115880 407 53160 604980 750 0 560 116 0 0
cpu1 121681 417 58523 593704 1969 0 1347 123 0 0`;

const meminfo = `MemTotal:       24684092 kB
MemFree:        20000000 kB
MemAvailable:   22860440 kB
Buffers:          300000 kB
Cached:          1500000 kB
SwapCached:            0 kB
SwapTotal:       2097148 kB
SwapFree:        1572860 kB
HugePages_Total:       0
Hugepagesize:       2048 kB`;

const df = `Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/vda         264212084 24803108  81587804      24% /`;

function output(dfText = df, extra = ''): string {
  return `@@stat\n${stat1}\n@@loadavg\n0.52 0.58 0.59 1/467 12345\n@@meminfo\n${meminfo}\n@@df\n${dfText}\n${extra}`;
}

describe('host figure parsers', () => {
  it('reads the aggregate cpu line and counts the CPUs', () => {
    const { times, cpus } = parseProcStat(`${stat1}\nintr 1 2 3\nctxt 99`);
    expect(cpus).toBe(2);
    expect(times).toEqual({ user: 237531, nice: 825, system: 111668, idle: 1198644, iowait: 2710, irq: 0, softirq: 1902, steal: 240 });
    // Old kernels without steal (or iowait) columns.
    expect(parseProcStat('cpu 10 0 5 100').times).toMatchObject({ user: 10, idle: 100, iowait: 0, steal: 0 });
    expect(() => parseProcStat('intr 1 2')).toThrow(/no cpu line/);
  });

  it('computes CPU use from the delta of two readings', () => {
    const u = cpuUsage(parseProcStat(stat1).times, parseProcStat(stat2).times)!;
    // total = 30 + 15 + 5 (system+softirq) + 40 + 10 = 100 ticks.
    expect(u).toEqual({ usedPct: 50, userPct: 30, systemPct: 20, iowaitPct: 10, stealPct: 0 });
    const t = parseProcStat(stat1).times;
    expect(cpuUsage(t, t)).toBeNull();
    // Steal counts as used (the hypervisor took it); a counter going backwards counts as zero.
    const later = { ...t, user: t.user + 50, steal: t.steal + 25, idle: t.idle + 25, iowait: t.iowait - 7 };
    expect(cpuUsage(t, later)).toEqual({ usedPct: 75, userPct: 50, systemPct: 0, iowaitPct: 0, stealPct: 25 });
  });

  it('reads load averages and meminfo (with and without MemAvailable)', () => {
    expect(parseLoadavg('0.52 0.58 0.59 1/467 12345\n')).toEqual({ load1: 0.52, load5: 0.58, load15: 0.59 });
    expect(() => parseLoadavg('')).toThrow();
    const m = parseMeminfo(meminfo);
    expect(m.mem.totalBytes).toBe(24684092 * 1024);
    expect(m.mem.availableBytes).toBe(22860440 * 1024);
    expect(m.mem.usedPct).toBeCloseTo((100 * (24684092 - 22860440)) / 24684092, 1);
    expect(m.swap).toEqual({ totalBytes: 2097148 * 1024, usedBytes: (2097148 - 1572860) * 1024 });
    // Before Linux 3.14: free + buffers + page cache.
    const old = parseMeminfo(meminfo.replace(/^MemAvailable.*\n/m, ''));
    expect(old.mem.availableBytes).toBe((20000000 + 300000 + 1500000) * 1024);
    expect(() => parseMeminfo('MemFree: 1 kB')).toThrow(/MemTotal/);
  });

  it('reads df -Pk, also when a long device name is wrapped onto its own line', () => {
    expect(parseDfP(df)).toEqual({
      filesystem: '/dev/vda',
      mountedOn: '/',
      sizeBytes: 264212084 * 1024,
      usedBytes: 24803108 * 1024,
      freeBytes: 81587804 * 1024,
      usedPct: 23.3,
    });
    // df without -P (older GNU, BusyBox) puts a name longer than the column on a line of its own;
    // -P is meant to prevent it, and the parser copes either way.
    const wrapped = `Filesystem           1024-blocks    Used Available Capacity Mounted on
/dev/mapper/vg_data-lv_postgresql_16_main_with_a_long_name
                       103081248  51540624  46297600      53% /var/lib/postgresql`;
    expect(parseDfP(wrapped)).toMatchObject({
      filesystem: '/dev/mapper/vg_data-lv_postgresql_16_main_with_a_long_name',
      mountedOn: '/var/lib/postgresql',
      sizeBytes: 103081248 * 1024,
      freeBytes: 46297600 * 1024,
    });
    // A mount point with spaces, a complaint on stderr before the header, an NFS-style device.
    const spaced = `df: warning: something\nFilesystem 1024-blocks Used Available Capacity Mounted on\nnas:/export/pg data 1000 250 750 25% /mnt/pg data`;
    expect(parseDfP(spaced)).toMatchObject({ filesystem: 'nas:/export/pg data', mountedOn: '/mnt/pg data', usedPct: 25 });
    expect(() => parseDfP('df: /nope: No such file or directory')).toThrow(/unexpected df output/);
  });

  it('builds one sh -c command with the path quoted for any login shell', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    const cmd = hostCommand("/data/o'brien dir");
    expect(cmd.startsWith("sh -c 'export LC_ALL=C; ")).toBe(true);
    expect(cmd.endsWith(`flightdeck-host '/data/o'\\''brien dir'`)).toBe(true);
    // Nothing a csh-family login shell would trip over inside the quotes.
    expect(cmd).not.toMatch(/[\n!]/);
    for (const part of ['/proc/stat', '/proc/loadavg', '/proc/meminfo', 'df -Pk -- "$1"']) expect(cmd).toContain(part);
    // df runs under timeout(1) where the host has it, bounded like the whole reading (rounded up).
    expect(cmd).toContain('t="timeout -s KILL 2"');
    expect(hostCommand('/', 1.5)).toContain('t="timeout -s KILL 2"');
    expect(hostCommand('/', 0.2)).toContain('t="timeout -s KILL 1"');
  });

  it('splits the marked output and names the host that has no /proc', () => {
    expect([...splitSections('@@a\n1\n2\n@@b\n3').entries()]).toEqual([
      ['a', '1\n2'],
      ['b', '3'],
    ]);
    expect(parseHostOutput({ stdout: '@@noproc\nDarwin\n', stderr: '', code: 0 })).toEqual({ kind: 'noproc', system: 'Darwin' });
    const r = parseHostOutput({ stdout: output(), stderr: '', code: 0 });
    expect(r.kind === 'figures' && r.df.mountedOn).toBe('/');
    const fallback = parseHostOutput({ stdout: output('df: /var/lib/pg: No such file or directory', `@@df-fallback\n${df}`), stderr: '', code: 0 });
    expect(fallback).toMatchObject({ kind: 'figures', dfFailed: 'df: /var/lib/pg: No such file or directory', df: { mountedOn: '/' } });
    expect(() => parseHostOutput({ stdout: '', stderr: 'This account is currently not available.\n', code: 1 })).toThrow(/exited with 1: This account/);
    // A df killed by timeout(1) is a failed reading, not a reason to stop measuring the path.
    expect(() => parseHostOutput({ stdout: output('', '@@df-timeout\n'), stderr: '', code: 0 })).toThrow(/df did not finish in time/);
  });
});

/** A runner that answers from a script of results; records the commands it was given. */
function scripted(results: (ExecResult | Error | (() => Promise<ExecResult>))[]): CommandRunner & { commands: string[] } {
  const commands: string[] = [];
  const run = async (command: string) => {
    commands.push(command);
    const next = results.shift();
    if (!next) throw new Error('no more scripted results');
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next() : next;
  };
  return Object.assign(run, { commands });
}

const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0 });

function dbSample(time: number): Sample {
  return { profileId: 'p', engine: 'postgres', time, durationMs: 1, errors: [] };
}

describe('HostSampler', () => {
  it('reads the figures, and CPU use from the second reading on', async () => {
    const run = scripted([ok(output()), ok(output().replace(stat1, stat2))]);
    const host = new HostSampler({ host: 'db1', run, dataDir: { path: '/var/lib/postgresql/16/main' } });
    expect(host.panel()).toMatchObject({ host: 'db1', readAt: null, cpu: null, disk: null });
    await host.refresh();
    const first = host.panel();
    expect(first).toMatchObject({ cpus: 2, cpu: null, load1: 0.52, load5: 0.58, load15: 0.59, mem: { totalBytes: 24684092 * 1024 } });
    expect(first.disk).toMatchObject({ path: '/var/lib/postgresql/16/main', dataDirectory: true, mountedOn: '/', usedPct: 23.3 });
    expect(first.error).toBeUndefined();
    expect(run.commands[0]).toContain(`flightdeck-host '/var/lib/postgresql/16/main'`);
    await host.refresh();
    expect(host.panel().cpu).toEqual({ usedPct: 50, userPct: 30, systemPct: 20, iowaitPct: 10, stealPct: 0 });
    const values = seriesValues({ ...dbSample(1), host: host.panel() });
    expect(values['host.cpuPct']).toBe(50);
    expect(values['host.load1']).toBe(0.52);
    expect(values['host.diskUsedPct']).toBe(23.3);
    expect(values['host.memUsedPct']).toBeCloseTo(7.4, 1);
  });

  it('measures / and says why when the data directory is unknown or df cannot measure it', async () => {
    const unknown = scripted([ok(output())]);
    const a = new HostSampler({ host: 'h', run: unknown, dataDir: { error: 'permission denied to examine "data_directory"', hint: 'Grant pg_read_all_settings.' } });
    await a.refresh();
    expect(unknown.commands[0]).toMatch(/flightdeck-host '\/'$/);
    expect(a.panel().disk).toMatchObject({ path: '/', dataDirectory: false });
    expect(a.panel().disk!.note).toMatch(/data directory is unknown \(permission denied.*\), so \/ was measured\. Grant pg_read_all_settings/);

    // The SSH server is not the database host (a bastion): df fails on the path, / is measured, and
    // later readings ask for / directly.
    const run = scripted([ok(output('df: /var/lib/mysql/: No such file or directory', `@@df-fallback\n${df}`)), ok(output())]);
    const b = new HostSampler({ host: 'bastion', run, dataDir: { path: '/var/lib/mysql/' } });
    await b.refresh();
    expect(b.panel().disk).toMatchObject({ path: '/', dataDirectory: false, mountedOn: '/' });
    expect(b.panel().disk!.note).toMatch(/could not measure the data directory \/var\/lib\/mysql\/ \(df: .*No such file or directory\)/);
    expect(b.panel().error).toBeUndefined();
    await b.refresh();
    expect(run.commands[1]).toMatch(/flightdeck-host '\/'$/);
    expect(b.panel().disk!.note).toMatch(/could not measure/);
  });

  it('reports a host without /proc once and never asks it again', async () => {
    const run = scripted([ok('@@noproc\nFreeBSD\n')]);
    const host = new HostSampler({ host: 'bsd1', run, dataDir: { path: '/var/db/postgres' } });
    for (let i = 0; i < 5; i++) await host.refresh();
    expect(run.commands).toHaveLength(1);
    expect(host.panel()).toMatchObject({ readAt: null, cpu: null, error: { message: 'Host figures need Linux /proc; the SSH server bsd1 runs FreeBSD.' } });
    expect(seriesValues({ ...dbSample(1), host: host.panel() })['host.cpuPct']).toBeNaN();
  });

  it('keeps the last figures on a failed reading, marks them stale, and backs off', async () => {
    let now = 1_000_000;
    const run = scripted([ok(output()), new Error('The command on the SSH server did not finish within 1500 ms.'), new Error('still failing'), ok(output().replace(stat1, stat2))]);
    const host = new HostSampler({ host: 'db1', run, dataDir: { path: '/' }, now: () => now });
    await host.refresh();
    const good = host.panel();
    now += 1000;
    await host.refresh();
    const stale = host.panel();
    expect(stale.error?.message).toBe('Could not read the host figures of db1: The command on the SSH server did not finish within 1500 ms.');
    expect({ ...stale, error: undefined }).toEqual({ ...good, error: undefined });
    // Not charted while stale: a flat line of old figures would look like readings.
    expect(seriesValues({ ...dbSample(now), host: stale })['host.load1']).toBeNaN();
    // 1 s backoff after the first failure, then 2 s.
    await host.refresh();
    expect(run.commands).toHaveLength(2);
    now += 1000;
    await host.refresh();
    expect(run.commands).toHaveLength(3);
    now += 1500;
    await host.refresh();
    expect(run.commands).toHaveLength(3);
    now += 500;
    await host.refresh();
    expect(run.commands).toHaveLength(4);
    expect(host.panel().error).toBeUndefined();
    expect(host.panel().readAt).toBe(now);
    expect(host.panel().cpu?.usedPct).toBe(50);
  });

  it('bounds a runner that never answers, and never runs two readings at once', async () => {
    const run = scripted([() => new Promise<ExecResult>(() => undefined)]);
    const host = new HostSampler({ host: 'db1', run, dataDir: { path: '/' }, timeoutMs: 100 });
    const t0 = performance.now();
    const first = host.refresh();
    void host.refresh();
    void host.refresh();
    expect(run.commands).toHaveLength(1);
    await first;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(host.panel().error?.message).toMatch(/no answer within 350 ms/);
  });

  it('does not let a slow host reading delay the database sample', async () => {
    let release!: (r: ExecResult) => void;
    const run = scripted([ok(output()), () => new Promise<ExecResult>((resolve) => (release = resolve)), ok(output())]);
    const host = new HostSampler({ host: 'db1', run, dataDir: { path: '/' }, timeoutMs: 5000 });
    await host.refresh();
    const firstRead = host.panel().readAt;

    // The second reading hangs; the database sample (20 ms) comes back with the last reading.
    const t0 = performance.now();
    const sample = await sampleWithHost(() => new Promise((r) => setTimeout(() => r(dbSample(Date.now())), 20)), host);
    const took = performance.now() - t0;
    expect(took).toBeLessThan(500);
    expect(sample.host).toMatchObject({ readAt: firstRead, load1: 0.52 });
    expect(sample.host?.error).toBeUndefined();

    // While it still hangs, the next tick does not start another reading.
    await sampleWithHost(async () => dbSample(Date.now()), host);
    expect(run.commands).toHaveLength(2);

    // Once it answers, the next sample carries the new reading.
    release(ok(output().replace(stat1, stat2)));
    await new Promise((r) => setTimeout(r, 0));
    const next = await sampleWithHost(async () => dbSample(Date.now()), host);
    expect(next.host?.cpu?.usedPct).toBe(50);

    // No host sampler (a direct profile): no host panel.
    expect((await sampleWithHost(async () => dbSample(1), undefined)).host).toBeUndefined();
  });
});

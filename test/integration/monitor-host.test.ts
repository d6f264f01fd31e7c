// The Host panel end to end, against the test sshd, PostgreSQL and MariaDB: a profile through the
// sshd is monitored and its samples carry this machine's figures (the sshd runs here, so /proc is
// ours), checked against os and a direct `df -Pk`; a direct profile has no host panel; a role that
// may not read data_directory gets / measured and says so; MariaDB's @@datadir is measured; the
// tunnel's exec returns output and exit status and bounds a hung command; and, as root, a tmpfs with
// a long device name and a mount point with a space is read over SSH exactly as df prints it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ProfileSummary } from '../../shared/api';
import type { Sample, Series } from '../../shared/monitor';
import { createCore, type Core } from '../../main/core';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { openTunnel, type SshTunnel } from '../../main/connections/ssh/tunnel';
import { HostSampler } from '../../main/monitor/host-sampler';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { describeWith, requireServer } from '../support/servers';

async function call<T>(core: Core, method: string, input: unknown = {}): Promise<T> {
  const outcome = await core.dispatch(method, input);
  if (!outcome.ok) throw Object.assign(new Error(`${outcome.error.code}: ${outcome.error.message}`), outcome.error);
  return outcome.result as T;
}

/** `df -Pk PATH` run here, parsed by column: what the panel must agree with. */
function localDf(p: string): { filesystem: string; sizeBytes: number; freeBytes: number; mountedOn: string } {
  const lines = execFileSync('df', ['-Pk', p], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim().split('\n');
  const f = lines[1]!.trim().split(/\s+/);
  return { filesystem: f[0]!, sizeBytes: Number(f[1]) * 1024, freeBytes: Number(f[3]) * 1024, mountedOn: f.slice(5).join(' ') };
}

describeWith('sshd', 'Host panel over the SSH tunnel', (sshd) => {
  let dir: string;
  let core: Core;
  const samples = new Map<string, Sample[]>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-monitor-host-'));
    core = await createCore({ transport: 'host', dataDir: path.join(dir, 'core'), secretStore: new MemorySecretStore() });
    core.events.subscribe((e) => {
      if (e.event !== 'monitor/sample') return;
      const list = samples.get(e.payload.profileId) ?? [];
      list.push(e.payload);
      samples.set(e.payload.profileId, list);
    });
  });
  afterAll(async () => {
    await core?.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sshOptions = () => ({ host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKey, knownHostsFile: sshd.knownHostsFile });

  async function saveProfile(name: string, user: string, password: string, viaSsh: boolean): Promise<string> {
    const postgres = requireServer('postgres');
    const saved = await call<ProfileSummary>(core, 'profiles/save', {
      profile: {
        name,
        engine: 'postgres',
        environment: 'staging',
        host: '127.0.0.1',
        port: postgres.port,
        database: postgres.database,
        user,
        tls: { mode: 'disable' },
        ...(viaSsh ? { ssh: sshOptions() } : {}),
      },
      secrets: { 'db-password': password },
    });
    return saved.profile.id;
  }

  /** Monitors the profile until a sample satisfies `ready`, then stops and returns that sample. */
  async function monitorUntil(id: string, ready: (s: Sample) => boolean): Promise<Sample> {
    await call(core, 'monitor/start', { profileId: id, intervalMs: 500 });
    try {
      await expect.poll(() => (samples.get(id) ?? []).some(ready), { timeout: 20_000, interval: 100 }).toBe(true);
      return (samples.get(id) ?? []).find(ready)!;
    } finally {
      await call(core, 'monitor/stop', { profileId: id });
    }
  }

  it('reads this machine\'s CPU, load, memory and the data directory\'s disk beside the database sample', async () => {
    const postgres = requireServer('postgres');
    const id = await saveProfile('host via ssh', postgres.user, postgres.password, true);
    const s = await monitorUntil(id, (x) => x.host?.cpu !== null && x.host?.cpu !== undefined);
    const h = s.host!;
    expect(h.error, h.error?.message).toBeUndefined();
    expect(h.host).toBe(sshd.host);
    // The database panels are there as usual.
    expect(s.pool?.max).toBeGreaterThan(0);

    // Memory: MemTotal is what sysinfo() reports to os.totalmem(), to the kB.
    expect(Math.abs(h.mem!.totalBytes - os.totalmem())).toBeLessThanOrEqual(1024);
    expect(h.mem!.availableBytes).toBeGreaterThan(0);
    expect(h.mem!.availableBytes).toBeLessThanOrEqual(h.mem!.totalBytes);
    expect(h.mem!.usedPct).toBeGreaterThan(0);
    expect(h.mem!.usedPct).toBeLessThan(100);
    expect(h.swap!.usedBytes).toBeLessThanOrEqual(h.swap!.totalBytes);

    // CPU: the cpuN lines of /proc/stat are what libuv counts too (nproc would count the CPUs this
    // process may use instead). The shares add up.
    expect(h.cpus).toBe(os.cpus().length);
    const c = h.cpu!;
    for (const v of [c.usedPct, c.userPct, c.systemPct, c.iowaitPct, c.stealPct]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    expect(Math.abs(c.userPct + c.systemPct + c.stealPct - c.usedPct)).toBeLessThanOrEqual(0.3);
    expect(c.usedPct + c.iowaitPct).toBeLessThanOrEqual(100.2);

    // Load moves slowly: a few seconds apart, the readings are close.
    const [load1] = os.loadavg();
    expect(h.load1).toBeGreaterThanOrEqual(0);
    expect(Math.abs(h.load1! - load1!)).toBeLessThanOrEqual(1 + load1! / 2);
    expect(h.load15).not.toBeNull();

    // Disk: the data directory PostgreSQL reports, on the file system df sees here.
    const disk = h.disk!;
    expect(disk.dataDirectory).toBe(true);
    expect(disk.note).toBeUndefined();
    expect(fs.realpathSync(disk.path)).toBe(fs.realpathSync(postgres.dataDir));
    const local = localDf(postgres.dataDir);
    expect(disk.filesystem).toBe(local.filesystem);
    expect(disk.mountedOn).toBe(local.mountedOn);
    expect(disk.sizeBytes).toBe(local.sizeBytes);
    // Other test files write while this runs: free space agrees to within 1 % of the disk.
    expect(Math.abs(disk.freeBytes - local.freeBytes)).toBeLessThanOrEqual(local.sizeBytes / 100);
    expect(disk.usedPct).toBeGreaterThan(0);
    expect(disk.usedPct).toBeLessThan(100);

    // The reading rode along with the sample: not newer than it, and recent.
    expect(h.readAt!).toBeLessThanOrEqual(s.time + 1000);
    expect(s.time - h.readAt!).toBeLessThan(5000);

    // The database sample's own time does not include the host reading.
    const all = samples.get(id)!;
    expect(Math.max(...all.map((x) => x.durationMs))).toBeLessThan(1000);
    // Charted like the other panels.
    const series = await call<Series[]>(core, 'monitor/series', { profileId: id, keys: ['host.cpuPct', 'host.load1', 'host.memUsedPct', 'host.diskUsedPct'], points: 100 });
    for (const one of series) expect(one.points.length, one.key).toBeGreaterThan(0);
    const csv = await call<{ csv: string }>(core, 'monitor/export-csv', { profileId: id, keys: ['host.cpuPct', 'host.diskUsedPct'], from: all[0]!.time, to: all.at(-1)!.time });
    expect(csv.csv.split('\n')[0]).toBe('time,host.cpuPct,host.diskUsedPct');
  });

  it('has no host panel for a direct profile', async () => {
    const postgres = requireServer('postgres');
    const id = await saveProfile('host direct', postgres.user, postgres.password, false);
    const s = await monitorUntil(id, (x) => (samples.get(id) ?? []).indexOf(x) >= 2);
    expect(s.pool?.max).toBeGreaterThan(0);
    expect(samples.get(id)!.every((x) => x.host === undefined)).toBe(true);
    const series = await call<Series[]>(core, 'monitor/series', { profileId: id, keys: ['host.cpuPct', 'host.diskUsedPct'], points: 100 });
    expect(series.map((x) => x.points.length)).toEqual([0, 0]);
  });

  it('measures / and says why when the role may not read data_directory', async () => {
    const postgres = requireServer('postgres');
    const role = `fd_host_nopriv_${process.pid}`;
    const password = `pw-${Date.now().toString(36)}`;
    const admin = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, password: postgres.superuserPassword, database: postgres.database });
    await admin.connect();
    try {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      const id = await saveProfile('host no data_directory', role, password, true);
      const s = await monitorUntil(id, (x) => !!x.host?.disk);
      const disk = s.host!.disk!;
      expect(disk).toMatchObject({ path: '/', dataDirectory: false });
      expect(disk.note).toMatch(/data directory is unknown \(.*data_directory.*\), so \/ was measured\. Grant pg_read_all_settings/);
      const local = localDf('/');
      expect(disk.mountedOn).toBe(local.mountedOn);
      expect(disk.sizeBytes).toBe(local.sizeBytes);
      await call(core, 'profiles/delete', { id }).catch(() => undefined);
    } finally {
      // The monitor is stopped; its session may take a moment to leave.
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  describeWith('mariadb', 'on MariaDB', (mariadb) => {
    it('measures the disk of @@datadir', async () => {
      const saved = await call<ProfileSummary>(core, 'profiles/save', {
        profile: { name: 'host mariadb via ssh', engine: 'mysql', environment: 'staging', host: '127.0.0.1', port: mariadb.port, database: mariadb.database, user: mariadb.user, tls: { mode: 'disable' }, ssh: sshOptions() },
        secrets: { 'db-password': mariadb.password },
      });
      const s = await monitorUntil(saved.profile.id, (x) => !!x.host?.disk);
      const disk = s.host!.disk!;
      expect(disk.dataDirectory).toBe(true);
      expect(fs.existsSync(disk.path)).toBe(true);
      const local = localDf(disk.path);
      expect(disk.mountedOn).toBe(local.mountedOn);
      expect(disk.sizeBytes).toBe(local.sizeBytes);
      expect(s.host!.mem!.totalBytes).toBeGreaterThan(0);
    });
  });

  describeWith('postgres', 'the tunnel\'s exec', (postgres) => {
    let tunnel: SshTunnel;
    beforeAll(async () => {
      tunnel = await openTunnel({
        ssh: { ...sshOptions(), auth: 'key', keepaliveIntervalMs: 10_000 },
        secrets: {},
        target: { host: '127.0.0.1', port: postgres.port },
        hostKeys: new HostKeyPolicy({ defaultKnownHostsFile: sshd.knownHostsFile }),
        connectTimeoutMs: 5000,
      });
    });
    afterAll(async () => {
      await tunnel?.close();
    });

    it('returns output and exit status, and bounds a command that hangs', async () => {
      expect(await tunnel.exec('echo out; echo err >&2; exit 3', 5000)).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
      // (Its channel is closed and KILL asked for; OpenSSH refuses signal requests for root logins,
      // so the host command bounds its own df with timeout(1) too.)
      const t0 = Date.now();
      await expect(tunnel.exec('sleep 3', 400)).rejects.toThrow(/did not finish within 400 ms/);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(380);
      expect(took).toBeLessThan(1500);
      // The connection is fine afterwards, for commands and for the database.
      expect((await tunnel.exec('echo again', 5000)).stdout).toBe('again\n');
      const client = new pg.Client({ host: '127.0.0.1', port: tunnel.localPort, user: postgres.user, password: postgres.password, database: postgres.database });
      await client.connect();
      expect((await client.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
      await client.end();
    });

    const isRoot = process.getuid?.() === 0;
    it.skipIf(!isRoot)('reads a long device name and a mount point with a space over SSH as df prints them (root: mounts a tmpfs)', async (ctx) => {
      const mountPoint = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fd-host-df-')), 'pg data');
      fs.mkdirSync(mountPoint);
      const device = `flightdeck-test-${'very-long-device-name-'.repeat(4)}${process.pid}`;
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', device, mountPoint], { stdio: 'pipe' });
      } catch (e) {
        ctx.skip(`cannot mount a tmpfs here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
      }
      try {
        const host = new HostSampler({ host: sshd.host, run: (cmd, ms) => tunnel.exec(cmd, ms), dataDir: { path: mountPoint } });
        await host.refresh();
        const p = host.panel();
        expect(p.error, p.error?.message).toBeUndefined();
        expect(p.disk).toMatchObject({ path: mountPoint, dataDirectory: true, filesystem: device, mountedOn: mountPoint, sizeBytes: 4 * 1024 * 1024 });
        expect(p.disk!.freeBytes).toBe(localDf(mountPoint).freeBytes);
      } finally {
        execFileSync('umount', [mountPoint]);
        fs.rmSync(path.dirname(mountPoint), { recursive: true, force: true });
      }
    });
  });
});

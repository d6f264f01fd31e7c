// `flightdeck connect` as scripts run it: the built CLI in a child process, its exit codes, its
// --json envelope, and message + hint on stderr.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../support/servers';

const run = promisify(execFile);
const cli = path.resolve('bin/flightdeck.js');

async function flightdeck(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, ...env, SSH_AUTH_SOCK: '' }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(() => {
  if (!fs.existsSync('dist/main/cli.js')) throw new Error('dist/main/cli.js is missing: run `npm run build` before the tests (npm test does).');
});

describe('flightdeck CLI', () => {
  it('exits 2 with message and hint for a malformed URL or unsupported engine', async () => {
    const bad = await flightdeck(['connect', 'nonsense']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error URL_INVALID: .*\nhint: /);
    const redis = await flightdeck(['connect', 'redis://localhost', '--json']);
    expect(redis.code).toBe(2);
    expect(JSON.parse(redis.stdout)).toMatchObject({ ok: false, error: { code: 'ENGINE_UNSUPPORTED' } });
  });

  it('prints help and refuses unknown options', async () => {
    expect((await flightdeck(['--help'])).stdout).toContain('connect <url>');
    const unknown = await flightdeck(['connect', 'postgres://h/db', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('frobnicate');
  });
});

describeWith('postgres', 'flightdeck connect against PostgreSQL', (s) => {
  const url = `postgres://${s.user}@${s.host}:${s.port}/${s.database}?sslmode=disable`;

  it('prints the test result as stable JSON and exits 0', async () => {
    const r = await flightdeck(['connect', url, '--json'], { PGPASSWORD: s.password });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, result: { engine: 'postgres', currentUser: 'flightdeck', database: 'flightdeck_test', probe: { read: 'ok', write: 'ok' }, via: { address: `${s.host}:${s.port}` } } });
    expect(Object.keys(out.result).sort()).toEqual(['attributes', 'currentUser', 'database', 'engine', 'grants', 'inRecovery', 'latencyMs', 'probe', 'serverVersion', 'sessionUser', 'tls', 'versionBanner', 'via']);
  });

  it('prints a readable summary without --json', async () => {
    const r = await flightdeck(['connect', url], { PGPASSWORD: s.password });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^connected {3}postgres \d+/);
    expect(r.stdout).toContain('database flightdeck_test: CONNECT');
  });

  it('monitor --once --json prints one sample with its panels', async () => {
    const r = await flightdeck(['monitor', url, '--once', '--json', '--interval', '300'], { PGPASSWORD: s.password });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const sample = JSON.parse(lines[0]!);
    expect(sample).toMatchObject({ engine: 'postgres', errors: [] });
    expect(sample.pool.max).toBeGreaterThan(0);
    expect(sample.activity.commitsPerSec).not.toBeNull();
    const human = await flightdeck(['monitor', url, '--once', '--interval', '300'], { PGPASSWORD: s.password });
    expect(human.stdout).toMatch(/^\d\d:\d\d:\d\d {2}sampled in \d+ ms\n {2}pool {8}\d+\/\d+/);
  });

  it('monitor --storage reads sizes between samples and prints them with the sample', async () => {
    const r = await flightdeck(['monitor', url, '--once', '--json', '--interval', '1500', '--storage'], { PGPASSWORD: s.password });
    expect(r.code, r.stderr).toBe(0);
    const sample = JSON.parse(r.stdout.trim());
    expect(sample.storage.readAt).toBeLessThan(sample.time);
    expect(sample.storage.error).toBeUndefined();
    expect(sample.storage.intervalMs).toBe(60_000);
    expect(Array.isArray(sample.storage.tables)).toBe(true);
    const human = await flightdeck(['monitor', url, '--once', '--interval', '1500', '--storage'], { PGPASSWORD: s.password });
    expect(human.stdout).toMatch(/\n {2}storage {5}read \d\d:\d\d:\d\d, \d+ unused index\(es\)\n/);
    const refused = await flightdeck(['monitor', url, '--once', '--storage-interval', '10']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--storage-interval 10 is not a number of milliseconds of at least 1000.');
  });

  it('exits 1 with AUTH_FAILED on a wrong password, without echoing it', async () => {
    const r = await flightdeck(['connect', url.replace('flightdeck@', 'flightdeck:not-the-password@'), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('AUTH_FAILED');
    expect(r.stderr).toMatch(/^error AUTH_FAILED: .*\nhint: /);
    expect(r.stdout + r.stderr).not.toContain('not-the-password');
  });
});

describeWith('sshd', 'flightdeck connect through SSH', (ssh) => {
  it('tunnels to PostgreSQL with a key, and refuses an unknown host key without --accept-new-host-key', async () => {
    const pgInfo = (await import('../support/servers')).getServers().postgres;
    if (!pgInfo.available) throw new Error(pgInfo.reason);
    const url = `postgres://${pgInfo.user}@127.0.0.1:${pgInfo.port}/${pgInfo.database}?sslmode=disable`;
    const args = ['connect', url, '--ssh', `${ssh.user}@${ssh.host}:${ssh.port}`, '--ssh-key', ssh.clientKey, '--json'];
    const ok = await flightdeck([...args, '--known-hosts', ssh.knownHostsFile], { PGPASSWORD: pgInfo.password });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).result.via.ssh).toMatchObject({ host: ssh.host, port: ssh.port });

    const empty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fd-cli-kh-')), 'known_hosts');
    const unknown = await flightdeck([...args, '--known-hosts', empty], { PGPASSWORD: pgInfo.password });
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'SSH_HOSTKEY_UNKNOWN', details: { fingerprint: ssh.hostKeyFingerprint } });

    const accepted = await flightdeck([...args, '--known-hosts', empty, '--accept-new-host-key'], { PGPASSWORD: pgInfo.password });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(fs.readFileSync(empty, 'utf8')).toContain(`[127.0.0.1]:${ssh.port} ssh-ed25519 `);

    const changed = await flightdeck([...args, '--known-hosts', ssh.wrongKnownHostsFile, '--accept-new-host-key'], { PGPASSWORD: pgInfo.password });
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.stdout).error.code).toBe('SSH_HOSTKEY_CHANGED');
  });

  it('monitor through SSH prints the SSH server\'s host figures with the sample', async () => {
    const pgInfo = (await import('../support/servers')).getServers().postgres;
    if (!pgInfo.available) throw new Error(pgInfo.reason);
    const url = `postgres://${pgInfo.user}@127.0.0.1:${pgInfo.port}/${pgInfo.database}?sslmode=disable`;
    const r = await flightdeck(['monitor', url, '--ssh', `${ssh.user}@${ssh.host}:${ssh.port}`, '--ssh-key', ssh.clientKey, '--known-hosts', ssh.knownHostsFile, '--once', '--json', '--interval', '1000'], { PGPASSWORD: pgInfo.password });
    expect(r.code, r.stderr).toBe(0);
    const sample = JSON.parse(r.stdout.trim());
    expect(sample.host).toMatchObject({ host: ssh.host, cpus: os.cpus().length });
    expect(sample.host.error).toBeUndefined();
    expect(sample.host.mem.totalBytes).toBe(os.totalmem());
    expect(sample.host.disk).toMatchObject({ path: pgInfo.dataDir, dataDirectory: true });
  });
});

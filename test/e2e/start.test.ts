// What a newcomer gets from `npm start` on a machine without the Electron binary: one line saying
// so, the cockpit served on 127.0.0.1 with its URL printed, the sandbox (primary + streaming
// replica) coming up by itself, the cockpit showing it, and a clean stop on Ctrl-C.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Cockpit } from '../support/chromium';
import { chromiumMissing, launchCockpitBrowser, screenshotDir } from '../support/chromium';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function electronInstalled(): boolean {
  try {
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string' && fs.existsSync(bin);
  } catch {
    return false;
  }
}

/** A minimal client of the host's WebSocket API, enough to ask the core what it is doing. */
async function apiClient(url: string) {
  const u = new URL(url);
  const ws = new WebSocket(`ws://${u.host}/api?token=${u.searchParams.get('token')}`, { origin: `http://${u.host}` });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let next = 1;
  const pending = new Map<number, (m: { ok: boolean; result?: unknown; error?: unknown }) => void>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    if (m.type === 'result') pending.get(m.id)?.(m);
  });
  return {
    call: (method: string, input: unknown = {}) =>
      new Promise<{ ok: boolean; result?: unknown; error?: unknown }>((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ type: 'call', id, method, input }));
      }),
    close: () => ws.close(),
  };
}

function postgresProcessesUsing(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,stat,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(dir) && /postgres|postmaster/.test(l) && !/ Z/.test(l));
}

const missing = [electronInstalled() && 'the Electron binary is installed here, so npm start opens the desktop app', chromiumMissing()].filter(Boolean);

if (missing.length) {
  describe.skip(`npm start without Electron: not applicable (${missing.join('; ')})`, () => {
    it('serves the cockpit on the sandbox', () => undefined);
  });
} else {
  describe('npm start without the Electron binary', () => {
    let dataDir: string;
    let child: ChildProcess;
    let stdout = '';
    let stderr = '';
    let cockpit: Cockpit | undefined;

    beforeAll(() => {
      if (!fs.existsSync(path.join(repoRoot, 'dist/main/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-start-'));
      fs.chmodSync(dataDir, 0o755);
      child = spawn(process.execPath, [path.join(repoRoot, 'scripts/start.mjs')], {
        cwd: repoRoot,
        // No desktop to open a browser on: --open must fail quietly. No attempt to download Electron:
        // this machine has no route to it, and the test is about the fallback.
        env: { ...process.env, FLIGHTDECK_DATA_DIR: dataDir, DISPLAY: '', BROWSER: 'true', ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
    });

    afterAll(async () => {
      await cockpit?.context.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('says in one line that Electron is missing and prints the cockpit URL', async () => {
      await expect.poll(() => /Flightdeck cockpit: (http:\S+)/.exec(stdout)?.[1], { timeout: 30_000 }).toBeTruthy();
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^Electron binary not installed .* opening the same cockpit in your browser instead\.$/);
      expect(lines[1]).toMatch(/^Flightdeck cockpit: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/);
      // --open hands the browser a redirect page only this user can read, not the token on a command line.
      const page = fs.readdirSync(dataDir).find((f) => /^open-\d+\.html$/.test(f));
      expect(page).toBeDefined();
      expect(fs.statSync(path.join(dataDir, page!)).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(dataDir, page!), 'utf8')).toContain(lines[1]!.replace('Flightdeck cockpit: ', ''));
    });

    it('starts the sandbox by itself: a primary and a replica that streams', async () => {
      const url = /Flightdeck cockpit: (http:\S+)/.exec(stdout)![1]!;
      const api = await apiClient(url);
      try {
        await expect
          .poll(async () => ((await api.call('sandbox/state')).result as { state: string }).state, { timeout: 90_000, interval: 500 })
          .toBe('running');
        const replicaTest = await api.call('connections/test', { id: 'sandbox-replica' });
        expect(replicaTest).toMatchObject({ ok: true, result: { inRecovery: true, database: 'flightdeck_demo' } });
        const primaryTest = await api.call('connections/test', { id: 'sandbox-primary' });
        expect(primaryTest).toMatchObject({ ok: true, result: { inRecovery: false, probe: { write: 'ok' } } });
        const profiles = (await api.call('profiles/list')).result as { profile: { id: string; port: number } }[];
        const primaryPort = profiles.find((p) => p.profile.id === 'sandbox-primary')!.profile.port;
        // The sandbox keeps its generated password beside its data, readable by this user only.
        const credentials = JSON.parse(fs.readFileSync(path.join(dataDir, 'sandbox', 'credentials.json'), 'utf8')) as { superuser: string; password: string };
        const client = new pg.Client({ host: '127.0.0.1', port: primaryPort, user: credentials.superuser, password: credentials.password, database: 'flightdeck_demo' });
        await client.connect();
        try {
          const rep = await client.query<{ state: string; application_name: string }>('select state, application_name from pg_stat_replication');
          expect(rep.rows.map((r) => r.state)).toEqual(['streaming']);
        } finally {
          await client.end();
        }
      } finally {
        api.close();
      }
    });

    it('shows the sandbox in the cockpit', async () => {
      const url = /Flightdeck cockpit: (http:\S+)/.exec(stdout)![1]!;
      cockpit = await launchCockpitBrowser(path.join(dataDir, 'chromium-profile'));
      await cockpit.page.goto(url);
      await expect.poll(() => cockpit!.page.getByText('Sandbox replica').first().isVisible(), { timeout: 15_000 }).toBe(true);
      await cockpit.page.getByText('Sandbox primary').first().click();
      await cockpit.page.getByRole('button', { name: /Test connection/ }).click();
      await expect.poll(() => cockpit!.page.getByText(/write ok/).first().isVisible(), { timeout: 15_000 }).toBe(true);

      // The sandbox's profiles are Flightdeck's own: the core refuses to save or delete them, so the
      // cockpit shows them read-only and offers only a copy.
      const page = cockpit.page;
      const workspace = page.getByTestId('profile-workspace');
      const primaryCard = page.locator('li[data-profile-id="sandbox-primary"]');
      expect(await primaryCard.locator('.sandbox-tag').innerText()).toBe('sandbox');
      expect(await page.getByText(/Managed by Flightdeck: the sandbox's own profile\. Duplicate it/).isVisible()).toBe(true);
      expect(await workspace.getByRole('button', { name: 'Save', exact: true }).count()).toBe(0);
      expect(await workspace.getByRole('button', { name: 'Revert' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
      expect(await primaryCard.getByRole('button', { name: 'Edit' }).count()).toBe(0);
      expect(await page.locator('#pf-name').isDisabled()).toBe(true);
      expect(await page.locator('#pf-host').isDisabled()).toBe(true);
      await page.screenshot({ path: path.join(screenshotDir(repoRoot), 'npm-start-sandbox.png') });

      // Duplicate makes an ordinary profile: editable, savable, deletable, no sandbox tag.
      await workspace.getByRole('button', { name: 'Duplicate' }).click();
      const copyCard = page.locator('li.profile-card', { hasText: 'Sandbox primary (copy)' });
      await expect.poll(() => copyCard.isVisible(), { timeout: 15_000 }).toBe(true);
      await expect.poll(() => workspace.locator('h1').innerText()).toBe('Sandbox primary (copy)');
      expect(await copyCard.locator('.sandbox-tag').count()).toBe(0);
      expect(await page.getByText(/Managed by Flightdeck/).count()).toBe(0);
      expect(await workspace.getByRole('button', { name: 'Delete' }).count()).toBe(1);
      expect(await page.locator('#pf-name').isEnabled()).toBe(true);
      await page.locator('#pf-name').fill('Sandbox scratch');
      await workspace.getByRole('button', { name: 'Save', exact: true }).click();
      await expect.poll(() => page.locator('li.profile-card', { hasText: 'Sandbox scratch' }).isVisible(), { timeout: 15_000 }).toBe(true);
      expect(await workspace.getByText('Saved', { exact: true }).isVisible()).toBe(true);
      await page.screenshot({ path: path.join(screenshotDir(repoRoot), 'npm-start-sandbox-copy.png') });
      expect(await cockpit.cspViolations()).toEqual([]);
      expect(cockpit.problems).toEqual([]);
    });

    it('stops the host and the sandbox cleanly on Ctrl-C', async () => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toContain('Stopping');
      expect(postgresProcessesUsing(path.join(dataDir, 'sandbox'))).toEqual([]);
    }, 60_000);
  });
}

// The Host panel in Debian's Chromium, through the real browser host and core: a PostgreSQL profile
// reached through the test sshd shows the SSH server's CPU, load, memory and data disk with their
// charts, and a direct profile shows no Host panel. Saves test-results/host-panel.png.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { buildRendererInto, chromiumMissing, launchCockpitBrowser, screenshotDir } from '../support/chromium';
import { getServers, type AvailableServer } from '../support/servers';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const servers = getServers();
const missing = [
  !servers.postgres.available && `postgres (${servers.postgres.reason})`,
  !servers.sshd.available && `sshd (${servers.sshd.reason})`,
  chromiumMissing(),
].filter(Boolean);

if (missing.length) {
  describe.skip(`host panel e2e: not available (${missing.join('; ')})`, () => {
    it('shows the SSH server\'s CPU, load, memory and disk', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;
  const sshd = servers.sshd as AvailableServer<'sshd'>;

  describe('host panel e2e (renderer → host → core → SSH → PostgreSQL)', () => {
    let tmp: string;
    let core: Core;
    let host: RunningHost;
    let context: BrowserContext;
    let page: Page;
    let problems: string[] = [];
    let cspViolations: () => Promise<string[]>;
    let sshId: string;
    let directId: string;

    const targetOf = (id: string) => page.locator(`[data-testid="health-target"][data-profile-id="${id}"]`);
    const addProfile = async (profile: Record<string, unknown>) => {
      const saved = await core.dispatch('profiles/save', { profile, secrets: { 'db-password': postgres.password } });
      if (!saved.ok) throw new Error(saved.error.message);
      return (saved.result as { profile: { id: string } }).profile.id;
    };
    const openHealth = async (id: string) => {
      await page.locator(`.profile-card[data-profile-id="${id}"] .profile-card-main`).click();
      await page.getByRole('tab', { name: 'Health' }).click();
      await expect.poll(() => targetOf(id).getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
    };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-host-'));
      // A build of its own: another e2e file may be rebuilding dist/renderer at the same time.
      const rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);
      core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
      host = await startHost({ core, port: 0, rendererDir });
      const base = { engine: 'postgres', environment: 'staging', host: '127.0.0.1', port: postgres.port, database: postgres.database, user: postgres.user, tls: { mode: 'disable' } };
      sshId = await addProfile({
        ...base,
        name: 'host-e2e via ssh',
        ssh: { host: sshd.host, port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.clientKey, knownHostsFile: sshd.knownHostsFile },
      });
      directId = await addProfile({ ...base, name: 'host-e2e direct' });
      ({ context, page, problems, cspViolations } = await launchCockpitBrowser(path.join(tmp, 'chromium-profile')));
      await page.goto(host.url);
    });

    afterAll(async () => {
      await context?.close();
      await host?.close();
      await core?.shutdown();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('shows the SSH server\'s CPU, load, memory and data disk with charts', async () => {
      await openHealth(sshId);
      const panel = targetOf(sshId).getByTestId('panel-host');
      await panel.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await panel.locator('h3').textContent()).toBe(`Host · ${sshd.host}`);
      // CPU use shows from the second reading on.
      await expect.poll(() => panel.getByTestId('host-cpu').locator('.stat-value').innerText(), { timeout: 10_000 }).toMatch(/^\d+(\.\d)?%$/);
      expect(await panel.getByTestId('host-load').locator('.stat-label').innerText()).toBe(`load · ${os.cpus().length} CPU${os.cpus().length === 1 ? '' : 's'}`);
      expect(await panel.getByTestId('host-mem').locator('.stat-label').innerText()).toMatch(/^mem of \d+(\.\d)? GB$/);
      expect(await panel.getByTestId('host-disk').locator('.stat-label').innerText()).toMatch(/^free · \d+(\.\d)?% used$/);
      expect(await panel.getByTestId('host-disk-path').innerText()).toContain(`data directory ${postgres.dataDir}`);
      for (const chart of ['host-cpu', 'host-load', 'host-mem', 'host-disk']) expect(await panel.getByTestId(`chart-${chart}`).isVisible(), chart).toBe(true);
      expect(await panel.getByTestId('host-error').count()).toBe(0);
      // A few seconds of history, so the charts have lines to draw.
      await page.waitForTimeout(5000);
      await panel.scrollIntoViewIfNeeded();
      await panel.screenshot({ path: path.join(screenshotDir(repoRoot), 'host-panel.png') });
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('shows no Host panel for a direct profile', async () => {
      await openHealth(directId);
      const target = targetOf(directId);
      await target.getByTestId('panel-pool').waitFor({ state: 'visible' });
      expect(await target.getByTestId('panel-host').count()).toBe(0);
      expect(problems).toEqual([]);
    });
  });
}

// The real renderer in Debian's Chromium, driven through the real browser host and core: add a
// PostgreSQL profile that goes through the test sshd, meet the first-use host key dialog, trust the
// key, and read the server version the test panel reports against the server's own answer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { buildRendererInto, chromiumMissing, launchCockpitBrowser } from '../support/chromium';
import { getServers, type AvailableServer } from '../support/servers';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const screenshots = path.join(repoRoot, 'test-results');

const servers = getServers();
const missing = [
  !servers.postgres.available && `postgres (${servers.postgres.reason})`,
  !servers.sshd.available && `sshd (${servers.sshd.reason})`,
  chromiumMissing(),
].filter(Boolean);

if (missing.length) {
  describe.skip(`connection manager e2e: not available (${missing.join('; ')})`, () => {
    it('adds a profile through SSH, trusts the host key and shows the server version', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;
  const sshd = servers.sshd as AvailableServer<'sshd'>;

  describe('connection manager e2e (renderer → host → core → sshd → PostgreSQL)', () => {
    let tmp: string;
    let rendererDir: string;
    let knownHosts: string;
    let core: Core;
    let host: RunningHost;
    let context: BrowserContext;
    let page: Page;
    /** Console errors, page errors and CSP violations; any of them fails the test. */
    let problems: string[] = [];
    let cspViolations: () => Promise<string[]>;
    /** While the host is deliberately down, the browser's failed reconnects are expected. */
    let hostDown = false;

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-cm-'));
      // A build of its own: another e2e file may be rebuilding dist/renderer at the same time.
      rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);
      // Empty on purpose: the first connection must ask before it trusts the sshd's key.
      knownHosts = path.join(tmp, 'known_hosts');
      fs.writeFileSync(knownHosts, '');
      fs.mkdirSync(screenshots, { recursive: true });

      core = await createCore({
        transport: 'host',
        dataDir: path.join(tmp, 'data'),
        secretStore: new MemorySecretStore(),
        watchOnly: false,
        startSandboxWhenEmpty: false,
      });
      host = await startHost({ core, port: 0, rendererDir });

      ({ context, page, problems, cspViolations } = await launchCockpitBrowser(path.join(tmp, 'chromium-profile'), (text) => hostDown && /WebSocket connection to .* failed|request failed/.test(text)));
    });

    afterAll(async () => {
      await context?.close();
      await host?.close();
      await core?.shutdown();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('opens on the empty state and keeps the token out of the address bar', async () => {
      await page.goto(host.url);
      await expect.poll(() => page.getByText('No connections yet').isVisible(), { timeout: 15_000 }).toBe(true);
      expect(page.url()).not.toContain('token=');
      await expect.poll(() => page.locator('.status-bar').innerText()).toMatch(/core via host WebSocket/);
      expect(await page.locator('.status-bar').innerText()).toMatch(/secrets: memory — not persistent/);
    });

    it('shows validation errors next to the fields', async () => {
      await page.getByRole('button', { name: 'Add a connection' }).click();
      await page.locator('#pf-port').fill('');
      await page.getByRole('button', { name: 'Save profile' }).click();
      await expect.poll(() => page.locator('#pf-name-error').textContent()).toBe('Required');
      expect(await page.locator('#pf-host-error').textContent()).toBe('Required');
      expect(await page.locator('#pf-port-error').textContent()).toBe('Enter a number');
      // Switching engine moves a default port along; an empty one is filled in.
      await page.locator('#pf-engine').selectOption('mysql');
      expect(await page.locator('#pf-port').inputValue()).toBe('3306');
      await page.locator('#pf-engine').selectOption('postgres');
      expect(await page.locator('#pf-port').inputValue()).toBe('5432');
    });

    it('adds a PostgreSQL profile through SSH, trusts the new host key and shows the server version', async () => {
      await page.locator('#pf-name').fill('test-postgres via ssh');
      await page.locator('#pf-host').fill('127.0.0.1');
      await page.locator('#pf-port').fill(String(postgres.port));
      await page.locator('#pf-database').fill(postgres.database);
      await page.locator('#pf-user').fill(postgres.user);
      await page.locator('#pf-secrets-db-password').fill(postgres.password);
      await page.locator('#pf-tls-mode').selectOption('disable');
      await page.locator('#pf-sshEnabled').check();
      await page.locator('#pf-ssh-host').fill(sshd.host);
      await page.locator('#pf-ssh-port').fill(String(sshd.port));
      await page.locator('#pf-ssh-user').fill(sshd.user);
      await page.locator('#pf-ssh-keyFile').fill(sshd.clientKey);
      await page.locator('#pf-ssh-knownHostsFile').fill(knownHosts);
      expect(await page.locator('.field-error').count()).toBe(0);
      await page.screenshot({ path: path.join(screenshots, 'connection-manager-editor.png'), fullPage: true });

      await page.getByTestId('test-button').click();
      const dialog = page.getByTestId('host-key-dialog');
      await dialog.waitFor({ state: 'visible', timeout: 30_000 });
      expect(await dialog.getByTestId('host-key-fingerprint').textContent()).toBe(sshd.hostKeyFingerprint);
      expect(await dialog.getByTestId('host-key-host').textContent()).toBe(`${sshd.host}:${sshd.port}`);
      expect(await dialog.getByTestId('host-key-file').textContent()).toBe(knownHosts);
      expect(fs.readFileSync(knownHosts, 'utf8')).toBe('');
      await page.screenshot({ path: path.join(screenshots, 'connection-manager-host-key.png') });

      await dialog.getByRole('button', { name: 'Trust and connect' }).click();
      const version = page.getByTestId('server-version');
      await version.waitFor({ state: 'visible', timeout: 30_000 });

      const client = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database });
      await client.connect();
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      await client.end();
      expect(await version.textContent()).toBe(rows[0]!.server_version);

      const route = await page.getByTestId('route').textContent();
      expect(route).toContain(`SSH ${sshd.host}:${sshd.port}`);
      expect(route).toContain(`127.0.0.1:${postgres.port}`);
      expect(await page.getByTestId('test-result').innerText()).toMatch(/read ok/);
      expect(fs.readFileSync(knownHosts, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
      // The password went to the core's secret store; the renderer only learns that it is there.
      expect(await page.locator('#pf-secrets-db-password').inputValue()).toBe('');
      expect(await page.getByText('stored', { exact: true }).count()).toBeGreaterThan(0);

      await page.screenshot({ path: path.join(screenshots, 'connection-manager.png'), fullPage: true });
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('marks a production profile with a red band across the window and its card', async () => {
      await page.locator('.env-option-production').click();
      const band = page.getByTestId('environment-band');
      await expect.poll(() => band.getAttribute('data-environment')).toBe('production');
      expect(await band.isVisible()).toBe(true);
      const box = await band.boundingBox();
      expect(box?.y).toBe(0);
      expect(box?.width).toBe(1440);
      expect(await band.innerText()).toMatch(/PRODUCTION/);
      // Red, whatever shade the stylesheet uses: the band's stripes start with the production colour.
      const background = await band.evaluate((el) => getComputedStyle(el).backgroundImage);
      expect(background).toMatch(/rgb\(229, 56, 59\)/);

      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const card = page.locator('.profile-card.env-production');
      await card.waitFor({ state: 'visible' });
      expect(await card.innerText()).toMatch(/PRODUCTION/i);
      await page.screenshot({ path: path.join(screenshots, 'connection-manager-production.png'), fullPage: true });
    });

    it('asks for the profile name before deleting a production profile', async () => {
      await page.locator('.workspace-actions').getByRole('button', { name: 'Delete' }).click();
      const dialog = page.getByTestId('delete-dialog');
      await dialog.waitFor({ state: 'visible' });
      const confirm = dialog.getByRole('button', { name: 'Delete profile' });
      expect(await confirm.isDisabled()).toBe(true);
      await dialog.locator('#delete-confirm-name').fill('test-postgres');
      expect(await confirm.isDisabled()).toBe(true);
      await dialog.locator('#delete-confirm-name').fill('test-postgres via ssh');
      expect(await confirm.isDisabled()).toBe(false);
      await confirm.click();
      await expect.poll(() => page.getByText('No connections yet').isVisible()).toBe(true);
      expect(await core.dispatch('profiles/list', {})).toEqual({ ok: true, result: [] });
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('shows a banner while the host is gone and recovers when it is back', async () => {
      const { port, token } = host;
      hostDown = true;
      await host.close();
      const banner = page.getByTestId('core-link-banner');
      await banner.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await banner.innerText()).toMatch(/Disconnected from Flightdeck core/);
      host = await startHost({ core, port, token, rendererDir });
      await banner.waitFor({ state: 'hidden', timeout: 20_000 });
      hostDown = false;
      // Reloading works from the token kept in sessionStorage, though the URL no longer has it.
      await page.reload();
      await expect.poll(() => page.getByText('No connections yet').isVisible(), { timeout: 15_000 }).toBe(true);
      expect(problems).toEqual([]);
    });
  });
}

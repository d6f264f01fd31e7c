// The Pool panel's PgBouncer part in Debian's Chromium, through the real browser host and core: a
// PostgreSQL profile with the test PgBouncer attached shows its pool, and when clients hold every
// server connection of the pool and one more queues, the panel shows 1 waiting at PgBouncer and
// the pool's servers all in use. Saves test-results/pooler-pools.png.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
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
  !servers.pgbouncer.available && `pgbouncer (${servers.pgbouncer.reason})`,
  chromiumMissing(),
].filter(Boolean);

if (missing.length) {
  describe.skip(`PgBouncer pools e2e: not available (${missing.join('; ')})`, () => {
    it('shows clients waiting at the pooler in the Pool panel', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;
  const bouncer = servers.pgbouncer as AvailableServer<'pgbouncer'>;

  describe('PgBouncer pools e2e (renderer → host → core → PgBouncer console)', () => {
    let tmp: string;
    let core: Core;
    let host: RunningHost;
    let context: BrowserContext;
    let page: Page;
    let problems: string[] = [];
    let dbId: string;
    const clients: pg.Client[] = [];

    const save = async (profile: Record<string, unknown>, password: string) => {
      const saved = await core.dispatch('profiles/save', { profile, secrets: { 'db-password': password } });
      if (!saved.ok) throw new Error(saved.error.message);
      return (saved.result as { profile: { id: string } }).profile.id;
    };
    const appClient = async () => {
      const c = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.user, password: bouncer.password, database: postgres.database, application_name: 'fd-e2e/app' });
      c.on('error', () => undefined);
      clients.push(c);
      await c.connect();
      return c;
    };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-pooler-'));
      const rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);
      core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
      host = await startHost({ core, port: 0, rendererDir });
      const poolerId = await save({ name: 'shop pooler', engine: 'postgres', environment: 'staging', host: bouncer.host, port: bouncer.port, database: 'pgbouncer', user: bouncer.adminUser, tls: { mode: 'disable' } }, bouncer.adminPassword);
      dbId = await save(
        { name: 'shop behind pgbouncer', engine: 'postgres', environment: 'staging', host: '127.0.0.1', port: postgres.port, database: postgres.database, user: postgres.user, tls: { mode: 'disable' }, pgbouncerProfileId: poolerId },
        postgres.password,
      );
      ({ context, page, problems } = await launchCockpitBrowser(path.join(tmp, 'chromium-profile')));
      await page.goto(host.url);
    });

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await context?.close();
      await host?.close();
      await core?.shutdown();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('shows clients waiting at the pooler in the Pool panel', { timeout: 60_000 }, async () => {
      for (let i = 0; i < bouncer.defaultPoolSize; i++) {
        const h = await appClient();
        await h.query('begin');
        await h.query('select 1');
      }
      const waiter = new pg.Client({ host: bouncer.host, port: bouncer.port, user: bouncer.user, password: bouncer.password, database: postgres.database });
      waiter.on('error', () => undefined);
      clients.push(waiter);
      void waiter.connect().then(() => waiter.query('select 1')).catch(() => undefined);

      await page.locator(`.profile-card[data-profile-id="${dbId}"] .profile-card-main`).click();
      await page.getByRole('tab', { name: 'Health' }).click();
      const target = page.locator(`[data-testid="health-target"][data-profile-id="${dbId}"]`);
      await expect.poll(() => target.getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
      const pools = target.getByTestId('pooler-pools');
      await expect.poll(() => pools.locator('h4').innerText(), { timeout: 15_000 }).toMatch(/1 waiting$/);
      expect(await pools.locator('h4').innerText()).toContain(`${bouncer.adminUser}@${bouncer.host}:${bouncer.port}/pgbouncer`);
      const row = pools.locator('tbody tr', { hasText: `${postgres.database}/${bouncer.user}` });
      const cells = await row.locator('td').allInnerTexts();
      expect(cells.slice(0, 3)).toEqual([`${postgres.database}/${bouncer.user} · session`, String(bouncer.defaultPoolSize), '1']);
      expect(cells[4]).toBe(`${bouncer.defaultPoolSize} of ${bouncer.defaultPoolSize}`);
      expect(await target.getByTestId('panel-pool').innerText()).toContain('waiting at PgBouncer');
      await page.waitForTimeout(3000);
      const panel = target.getByTestId('panel-pool');
      await panel.scrollIntoViewIfNeeded();
      await panel.screenshot({ path: path.join(screenshotDir(repoRoot), 'pooler-pools.png') });
      expect(problems).toEqual([]);
    });
  });
}

// The Storage panel in Debian's Chromium, through the real browser host and core, against the test
// PostgreSQL: a table churned by updates with autovacuum off and an index nothing uses show up in
// the Health view with their sizes, dead tuples coloured by the thresholds, the unused index, and
// how long ago storage was read. Saves test-results/storage-panel.png.
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
const missing = [!servers.postgres.available && `postgres (${servers.postgres.reason})`, chromiumMissing()].filter(Boolean);

if (missing.length) {
  describe.skip(`storage panel e2e: not available (${missing.join('; ')})`, () => {
    it('shows the storage panel with a test table', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;
  const table = `storage_e2e_${process.pid}_${Date.now().toString(36)}`;

  describe('storage panel e2e (renderer → host → core → PostgreSQL)', () => {
    let tmp: string;
    let core: Core;
    let host: RunningHost;
    let context: BrowserContext;
    let page: Page;
    let problems: string[] = [];
    let cspViolations: () => Promise<string[]>;
    let admin: pg.Client;
    let profileId: string;

    const connect = async (application: string) => {
      const c = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database, application_name: application });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-storage-'));
      // A build of its own: another e2e file may be rebuilding dist/renderer at the same time.
      const rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);

      // About 10 MB, so it ranks among the 20 largest tables of the shared test database; every row
      // updated once with autovacuum off, and an index on v that nothing scans. The writer
      // disconnects so its statistics are sent before ANALYZE records pages and row counts.
      const writer = await connect('e2e-storage-writer');
      await writer.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL, payload text NOT NULL) WITH (autovacuum_enabled = false)`);
      await writer.query(`CREATE INDEX ${table}_v ON ${table} (v)`);
      await writer.query(`INSERT INTO ${table} SELECT g, g, repeat('p', 100) FROM generate_series(1, 40000) g`);
      await writer.query(`UPDATE ${table} SET payload = repeat('q', 100)`);
      await writer.end();
      admin = await connect('e2e-storage-admin');
      for (let i = 0; i < 150; i++) {
        const dead = Number((await admin.query<{ n: string }>(`SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relid = '${table}'::regclass`)).rows[0]?.n ?? 0);
        if (dead >= 40_000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await admin.query(`ANALYZE ${table}`);
      // Beside it, a clean table whose values live out of line in TOAST (6 kB of hex each, which
      // does not compress), vacuumed: no dead tuples, nothing coloured.
      await admin.query(`CREATE TABLE ${table}_docs (id int PRIMARY KEY, body text NOT NULL)`);
      await admin.query(`INSERT INTO ${table}_docs SELECT g, (SELECT string_agg(md5(g::text || '/' || k), '') FROM generate_series(1, 200) k) FROM generate_series(1, 400) g`);
      await admin.query(`VACUUM ANALYZE ${table}_docs`);

      core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
      host = await startHost({ core, port: 0, rendererDir });
      const saved = await core.dispatch('profiles/save', {
        profile: { name: 'storage-e2e', engine: 'postgres', environment: 'staging', host: postgres.host, port: postgres.port, database: postgres.database, user: postgres.user, tls: { mode: 'disable' } },
        secrets: { 'db-password': postgres.password },
      });
      if (!saved.ok) throw new Error(saved.error.message);
      profileId = (saved.result as { profile: { id: string } }).profile.id;
      ({ context, page, problems, cspViolations } = await launchCockpitBrowser(path.join(tmp, 'chromium-profile')));
    });

    afterAll(async () => {
      await context?.close();
      await host?.close();
      await core?.shutdown();
      await admin?.query(`DROP TABLE IF EXISTS ${table}, ${table}_docs`).catch(() => undefined);
      await admin?.end().catch(() => undefined);
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('opens the Health view and sees the Storage panel with the test table, its dead tuples and its unused index', async () => {
      await page.goto(host.url);
      await page.locator(`.profile-card[data-profile-id="${profileId}"] .profile-card-main`).click();
      await page.getByRole('tab', { name: 'Health' }).click();
      const target = page.locator(`[data-testid="health-target"][data-profile-id="${profileId}"]`);
      await expect.poll(() => target.getAttribute('data-state'), { timeout: 15_000 }).toBe('live');

      const panel = target.getByTestId('panel-storage');
      // Storage is read right after one of the first samples, then every minute.
      const row = panel.locator(`tr[data-table="public.${table}"]`);
      await row.waitFor({ state: 'visible', timeout: 20_000 });
      expect(await panel.getByRole('heading', { name: 'Storage' }).isVisible()).toBe(true);
      // Half of the row versions are dead: the dead-tuple cell is critical, and so is the panel.
      const dead = row.locator('td[data-level]').first();
      expect(await dead.getAttribute('data-level')).toBe('critical');
      expect(await dead.innerText()).toMatch(/40 k\s+50%/);
      expect(await row.getByTestId('storage-bloat').getAttribute('data-level')).not.toBe('ok');
      expect(await panel.getAttribute('class')).toContain('panel-level-critical');
      // A size bar with its table and index parts.
      expect(await row.locator('.size-bar .seg-table').evaluate((e) => e.getBoundingClientRect().width)).toBeGreaterThan(0);
      expect(await row.locator('.size-bar .seg-index').evaluate((e) => e.getBoundingClientRect().width)).toBeGreaterThan(0);

      // The TOAST table shows as its own part of the bar; nothing is coloured on a clean table.
      const docs = panel.locator(`tr[data-table="public.${table}_docs"]`);
      expect(await docs.locator('.size-bar .seg-toast').evaluate((e) => e.getBoundingClientRect().width)).toBeGreaterThan(0);
      expect(await docs.locator('td[data-level]').first().getAttribute('data-level')).toBe('ok');
      expect(await docs.innerText()).not.toMatch(/never\s+\S+\s+ago|never\s*$/);

      const unused = panel.locator(`tr[data-index="public.${table}_v"]`);
      await unused.waitFor({ state: 'visible' });
      expect(await unused.innerText()).toContain(table);
      expect(await panel.locator(`tr[data-index="public.${table}_pkey"]`).count()).toBe(0);

      // The reading's age counts up with the live samples.
      const age = panel.getByTestId('storage-age').locator('.stat-value');
      await expect.poll(async () => (await age.innerText()).trim(), { timeout: 10_000 }).toMatch(/^[1-9]\d* s ago$/);

      await page.waitForTimeout(1500);
      await panel.scrollIntoViewIfNeeded();
      await panel.screenshot({ path: path.join(screenshotDir(repoRoot), 'storage-panel.png') });
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });
  });
}

// The Plan page in Debian's Chromium, through the real host and core, against the test PostgreSQL:
// a production profile (its table sizes feed the estimates) and a staging profile (the trace runs on
// a scratch copy of its schema). The page shows each statement's locks by strength, the findings
// with their rewrites, a finding opened at its line in the file, and the recommended strategy.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { buildRendererInto, chromiumMissing, launchCockpitBrowser, screenshotWorkspace } from '../support/chromium';
import { closeOpened, postgresTestDb, writeSet, type TestDb } from '../support/migration-dbs';
import { getServers, type AvailableServer } from '../support/servers';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const screenshots = path.join(repoRoot, 'test-results');
const servers = getServers();
const missing = [!servers.postgres.available && `postgres (${servers.postgres.reason})`, chromiumMissing()].filter(Boolean);

if (missing.length) {
  describe.skip(`plan view e2e: not available (${missing.join('; ')})`, () => {
    it('shows the plan of a migration set', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;

  describe('plan view e2e (renderer → host → core → PostgreSQL)', () => {
    let tmp: string;
    let core: Core;
    let host: RunningHost;
    let context: BrowserContext;
    let page: Page;
    let problems: string[] = [];
    let prod: TestDb;
    let staging: TestDb;
    let prodId: string;
    let setDir: string;

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-plan-'));
      const rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);
      fs.mkdirSync(screenshots, { recursive: true });
      prod = await postgresTestDb(postgres, 'fdplanprod');
      staging = await postgresTestDb(postgres, 'fdplanstag');
      for (const d of [prod, staging]) {
        await d.query('create table users (id bigint primary key, email text not null, legacy_flag boolean)');
        await d.query('create table orders (id bigint primary key, user_id bigint not null, total numeric(10,2))');
      }
      await prod.query("insert into users select g, 'u' || g || '@example.com', false from generate_series(1, 50000) g");
      await prod.query('analyze users');
      setDir = await writeSet({
        '1_orders_user_fk.up.sql': 'alter table orders add constraint orders_user_fk foreign key (user_id) references users (id);\n',
        '1_orders_user_fk.down.sql': 'alter table orders drop constraint orders_user_fk;\n',
        '2_users_email_index.up.sql': '-- lookups by e-mail\ncreate index users_email on users (email);\n',
        '2_users_email_index.down.sql': 'drop index users_email;\n',
        '3_drop_legacy.up.sql': 'alter table users drop column legacy_flag;\n',
        '3_drop_legacy.down.sql': 'alter table users add column legacy_flag boolean;\n',
      });
      core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
      host = await startHost({ core, port: 0, rendererDir });
      const add = async (name: string, environment: string, database: string) => {
        const saved = await core.dispatch('profiles/save', { profile: { name, environment, engine: 'postgres', host: postgres.host, port: postgres.port, database, user: postgres.user, tls: { mode: 'disable' } }, secrets: { 'db-password': postgres.password } });
        if (!saved.ok) throw new Error(saved.error.message);
        return (saved.result as { profile: { id: string } }).profile.id;
      };
      prodId = await add('users production', 'production', prod.name);
      await add('users staging', 'staging', staging.name);
      ({ context, page, problems } = await launchCockpitBrowser(path.join(tmp, 'chromium-profile')));
    });

    afterAll(async () => {
      await context?.close();
      await host?.close();
      await core?.shutdown();
      await closeOpened();
      await prod?.drop();
      await staging?.drop();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('analyses the set with estimates, the trace and a strategy, and opens a finding at its line', { timeout: 90_000 }, async () => {
      await page.goto(host.url);
      await page.locator(`.profile-card[data-profile-id="${prodId}"] .profile-card-main`).click();
      await page.getByRole('tab', { name: 'Plan' }).click();
      const view = page.getByTestId('plan-view');
      await view.getByLabel('Migrations folder').fill(setDir);
      await view.getByLabel('Staging (for the trace)').selectOption({ label: 'users staging (staging)' });
      await view.getByLabel('Trace real locks').check();
      await view.getByRole('button', { name: 'Analyse' }).click();
      await page.getByTestId('strategy').waitFor({ state: 'visible', timeout: 60_000 });
      expect(await page.getByTestId('strategy').getAttribute('data-strategy')).toBe('expand-contract');
      expect(await page.getByTestId('plan-counts').innerText()).toMatch(/traced on a scratch copy of staging/);

      const expand = async (version: number) => {
        const head = page.getByTestId(`plan-migration-${version}`).locator('.plan-migration-head');
        if ((await head.getAttribute('aria-expanded')) !== 'true') await head.click();
        return page.getByTestId(`plan-migration-${version}`);
      };
      const m1 = await expand(1);
      const text1 = await m1.innerText();
      expect(text1).toMatch(/SHARE ROW EXCLUSIVE\s+orders/);
      expect(text1).toMatch(/SHARE ROW EXCLUSIVE\s+users/);
      expect(text1).toContain('trace agrees');
      expect(text1).toMatch(/reads every row of orders/);
      const m2 = await expand(2);
      expect(await m2.innerText()).toMatch(/builds an index \(reads every row\) of users \(50,000 rows\): under 1 minute/);
      const m3 = await expand(3);
      const drop = m3.locator('[data-rule="drop-column"]');
      expect(await drop.innerText()).toContain('Drops column users.legacy_flag in one step.');
      await drop.getByRole('button', { name: '3_drop_legacy.up.sql:1' }).click();
      const viewer = page.getByTestId('file-viewer');
      await viewer.locator('.file-line.current').waitFor({ state: 'visible' });
      expect(await viewer.locator('.file-line.current').innerText()).toMatch(/alter table users drop column legacy_flag/);
      await screenshotWorkspace(page, path.join(screenshots, 'plan-view.png'));
      expect(problems).toEqual([]);
    });
  });
}

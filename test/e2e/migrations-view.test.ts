// The Migrations view in Debian's Chromium, through the real browser host and core, against the
// test PostgreSQL: a production profile and its staging profile, each a database of its own. Phase 0
// runs with live status, two confirmations are given in the page and the gate turns to pass; then
// a migration that fails half-way shows its record (what is in effect, what is not, the next step),
// and after a repair by hand the version is forced from the page, with the production name typed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
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
  describe.skip(`migrations view e2e: not available (${missing.join('; ')})`, () => {
    it('runs Phase 0 and shows a failed migration\'s record', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;

  describe('migrations view e2e (renderer → host → core → PostgreSQL)', () => {
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
    const prodName = 'shop production';

    const screenshot = async (name: string) => {
      await screenshotWorkspace(page, path.join(screenshots, name));
    };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-migrations-'));
      const rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);
      fs.mkdirSync(screenshots, { recursive: true });
      prod = await postgresTestDb(postgres, 'fde2eprod');
      staging = await postgresTestDb(postgres, 'fde2estag');
      for (const d of [prod, staging]) {
        const admin = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.superuser, password: postgres.superuserPassword, database: d.name });
        await admin.connect();
        await admin.query('create extension if not exists pg_stat_statements');
        await admin.end();
        // A table older than the migration set, whose data differs between the two.
        await d.query('create table accounts (id bigint primary key, email text not null)');
        await d.query(`insert into accounts values (1, 'a@example.com'), (2, ${d === prod ? "'a@example.com'" : "'b@example.com'"})`);
      }
      setDir = await writeSet({
        '1_customers_up.sql': 'create table customers (id bigint primary key, email text not null);\ninsert into customers select g, \'c\' || g || \'@example.com\' from generate_series(1, 200) g;\n',
        '1_customers_down.sql': 'drop table customers;\n',
        '2_orders_up.sql': 'create table orders (id bigint primary key, customer_id bigint not null, total numeric(10,2));\n\ncreate index concurrently orders_customer on orders (customer_id);\n\n-- staging has no duplicate e-mails; production does\nalter table accounts add constraint accounts_email_key unique (email);\nalter table orders add column note text;\n',
        '2_orders_down.sql': 'drop table orders;\nalter table accounts drop constraint if exists accounts_email_key;\n',
      });
      core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
      host = await startHost({ core, port: 0, rendererDir });
      const add = async (name: string, environment: string, database: string) => {
        const saved = await core.dispatch('profiles/save', { profile: { name, environment, engine: 'postgres', host: postgres.host, port: postgres.port, database, user: postgres.user, tls: { mode: 'disable' } }, secrets: { 'db-password': postgres.password } });
        if (!saved.ok) throw new Error(saved.error.message);
        return (saved.result as { profile: { id: string } }).profile.id;
      };
      prodId = await add(prodName, 'production', prod.name);
      await add('shop staging', 'staging', staging.name);
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

    it('reads the set, runs Phase 0 with live status, and passes the gate once a person confirms', { timeout: 90_000 }, async () => {
      await page.goto(host.url);
      await page.locator(`.profile-card[data-profile-id="${prodId}"] .profile-card-main`).click();
      await page.getByRole('tab', { name: 'Migrations' }).click();
      const view = page.getByTestId('migrations-view');
      await view.getByLabel('Migrations folder').fill(setDir);
      await view.getByLabel('Staging profile').selectOption({ label: 'shop staging (staging)' });
      await view.getByRole('button', { name: 'Read status' }).click();
      await expect.poll(() => page.getByTestId('migration-version').textContent(), { timeout: 10_000 }).toBe('none');
      expect(await page.getByTestId('migration-status').innerText()).toMatch(/pending\s*2/);

      await view.getByRole('button', { name: 'Run Phase 0' }).click();
      // The report arrives check by check; at the end the two confirmations are still missing.
      await expect.poll(() => page.getByTestId('gate').getAttribute('data-verdict'), { timeout: 60_000 }).toBe('fix-first');
      for (const id of ['access-production', 'access-staging', 'rollback-scripts', 'migration-syntax', 'pool-headroom', 'lock-analysis', 'staging-schema', 'staging-dry-run', 'performance-baseline', 'backup-dump']) {
        expect(`${id}: ${await page.getByTestId(`check-${id}`).getAttribute('data-status')}`).toBe(`${id}: pass`);
      }
      expect(await page.getByTestId('check-backup-age').getAttribute('data-status')).toBe('skipped');
      for (const id of ['attest-dba', 'attest-dashboards']) {
        const row = page.getByTestId(`check-${id}`);
        expect(await row.getAttribute('data-status')).toBe('pending');
        await row.getByLabel('Your name').fill('Dana DBA');
        await row.getByRole('button', { name: 'Confirm' }).click();
        await expect.poll(() => row.getAttribute('data-status')).toBe('pass');
      }
      await expect.poll(() => page.getByTestId('gate').getAttribute('data-verdict')).toBe('pass');
      // One check again on its own: the others keep their results, the gate stays decided.
      const locks = page.getByTestId('check-lock-analysis');
      const before = await locks.getAttribute('data-started');
      await locks.getByRole('button', { name: 'Re-run' }).click();
      await expect.poll(async () => (await locks.getAttribute('data-status')) === 'pass' && (await locks.getAttribute('data-started')) !== before, { timeout: 10_000 }).toBe(true);
      await expect.poll(() => page.getByTestId('gate').getAttribute('data-verdict')).toBe('pass');
      expect(await page.getByTestId('check-attest-dba').getAttribute('data-status')).toBe('pass');
      // The backup's evidence: where it is, its size and checksum.
      await page.getByTestId('check-backup-dump').getByRole('button', { name: 'Backup taken and readable' }).click();
      expect(await page.getByTestId('check-backup-dump').innerText()).toMatch(/sha256\s+[0-9a-f]{64}/);
      await screenshot('migrations-phase0.png');
      expect(problems).toEqual([]);
    });

    it('shows a half-applied migration\'s record and forces the version after a repair, with the production name typed', { timeout: 60_000 }, async () => {
      const view = page.getByTestId('migrations-view');
      const apply = view.getByRole('button', { name: 'Apply 2 pending' });
      expect(await apply.isDisabled()).toBe(true);
      await view.getByLabel(`Type “${prodName}” to run on production`).fill(prodName);
      await apply.click();
      const record = page.getByTestId('failure-record');
      await record.waitFor({ state: 'visible', timeout: 20_000 });
      const text = await record.innerText();
      expect(text).toContain('Migration 2 (up) failed at 2_orders_up.sql:6');
      expect(text).toContain('could not create unique index "accounts_email_key"');
      expect(text).toMatch(/in effect\s+#1 line 1: create table orders[^\n]*\n#2 line 3: create index concurrently orders_customer/);
      expect(text).toMatch(/not applied\s+#3 line 6: alter table accounts add constraint accounts_email_key[^\n]*\n#4 line 7: alter table orders add column note/);
      expect(text).toContain('flightdeck migrate force 2');
      expect(await page.getByTestId('migration-version').textContent()).toBe('2 · dirty');
      await screenshot('migrations-failure-record.png');

      // The DBA fixes the data and finishes the two statements by hand, then forces version 2.
      await prod.query("update accounts set email = 'a2@example.com' where id = 2");
      await prod.query('alter table accounts add constraint accounts_email_key unique (email)');
      await prod.query('alter table orders add column note text');
      await view.getByLabel('After repairing by hand, force the version the schema matches').fill('2');
      await view.getByRole('button', { name: 'Force version 2' }).click();
      await expect.poll(() => page.getByTestId('migration-version').textContent(), { timeout: 10_000 }).toBe('2');
      expect(await page.getByTestId('failure-record').count()).toBe(0);
      expect(await prod.query('select version::int, dirty from schema_migrations')).toEqual([{ version: 2, dirty: false }]);
      expect(problems).toEqual([]);
    });

    it('draws the run, its failure and the forced version as markers on every health chart', { timeout: 60_000 }, async () => {
      await page.getByRole('tab', { name: 'Health' }).click();
      const chart = page.locator('[data-testid^="chart-"]').first();
      await chart.waitFor({ state: 'visible', timeout: 20_000 });
      await expect.poll(() => chart.locator('[data-marker-kind]').evaluateAll((els) => els.map((e) => e.getAttribute('data-marker-kind'))), { timeout: 10_000 }).toEqual(['migration-start', 'migration-failed', 'force']);
      const charts = await page.locator('[data-testid^="chart-"]').count();
      expect(charts).toBeGreaterThan(3);
      expect(await page.locator('[data-marker-kind="force"]').count()).toBe(charts);
      expect(await page.locator('[data-marker-kind="migration-failed"]').first().getAttribute('title')).toMatch(/shop production: Migration failed \(MIGRATION_FAILED\)/);
      await page.waitForTimeout(1500);
      await screenshotWorkspace(page, path.join(screenshots, 'health-markers.png'));
      expect(problems).toEqual([]);
    });
  });
}

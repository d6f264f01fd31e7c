// The health cockpit in Debian's Chromium, through the real browser host and core, against the test
// PostgreSQL: add a direct profile, open its Health view, make a real session block another, see
// the chain in the Locks panel, terminate the blocker from the panel and see the chain go and the
// waiter's UPDATE finish. Then the same on a production profile, where the profile's name must be
// typed and a wrong one is refused by the core; a killed monitoring session turning the panels
// stale and back; pause, zoom, CSV export; and the replica's panels beside the primary's.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { buildRendererInto, chromiumMissing, launchCockpitBrowser, screenshotWorkspace } from '../support/chromium';
import { getServers, type AvailableServer } from '../support/servers';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const screenshots = path.join(repoRoot, 'test-results');

const servers = getServers();
const missing = [!servers.postgres.available && `postgres (${servers.postgres.reason})`, chromiumMissing()].filter(Boolean);

if (missing.length) {
  describe.skip(`health panels e2e: not available (${missing.join('; ')})`, () => {
    it('shows a blocking chain and terminates the blocker from the Locks panel', () => undefined);
  });
} else {
  const postgres = servers.postgres as AvailableServer<'postgres'>;
  const profileName = 'health-e2e primary';
  // One table per run: the other test files share this server.
  const table = `health_e2e_${process.pid}_${Date.now().toString(36)}`;

  /** A plain client of the test server, named so its sessions are recognisable in the panels. */
  async function client(application: string): Promise<pg.Client> {
    const c = new pg.Client({ host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, database: postgres.database, application_name: application });
    // The blocker is terminated on purpose; its client must not turn that into an uncaught error.
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  interface BlockingChain {
    blocker: pg.Client;
    blockerPid: number;
    waiter: pg.Client;
    waiterPid: number;
    /** The waiter's UPDATE, which completes once the blocker is gone. */
    update: Promise<pg.QueryResult>;
  }

  /** A session holding a row lock in an open transaction, and a second one waiting for that row. */
  async function makeChain(tag: string): Promise<BlockingChain> {
    const blocker = await client(`e2e-blocker-${tag}`);
    const waiter = await client(`e2e-waiter-${tag}`);
    const blockerPid = (await blocker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const waiterPid = (await waiter.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await blocker.query('BEGIN');
    await blocker.query(`SELECT * FROM ${table} WHERE id = 1 FOR UPDATE`);
    const update = waiter.query(`UPDATE ${table} SET v = v + 1 WHERE id = 1`);
    update.catch(() => undefined);
    return { blocker, blockerPid, waiter, waiterPid, update };
  }

  /** A TCP relay to the test server that the test can cut and restore: a real lost connection
   * for the monitor, without stopping a server other test files share. */
  class Relay {
    private server: net.Server | undefined;
    private readonly sockets = new Set<net.Socket>();
    port = 0;

    async open(): Promise<void> {
      const server = net.createServer((inbound) => {
        const outbound = net.connect(postgres.port, postgres.host);
        for (const s of [inbound, outbound]) {
          this.sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => this.sockets.delete(s));
        }
        inbound.pipe(outbound).pipe(inbound);
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
      this.port = (server.address() as net.AddressInfo).port;
      this.server = server;
    }

    async cut(): Promise<void> {
      for (const s of this.sockets) s.destroy();
      await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      this.server = undefined;
    }
  }

  describe('health panels e2e (renderer → host → core → PostgreSQL)', () => {
    let tmp: string;
    let rendererDir: string;
    let core: Core;
    let host: RunningHost;
    let context: BrowserContext;
    let page: Page;
    let problems: string[] = [];
    let cspViolations: () => Promise<string[]>;
    let admin: pg.Client;
    let profileId: string;
    let replicaId: string;
    let relayedId: string;
    const relay = new Relay();
    const chains: BlockingChain[] = [];

    const chainLocator = (c: BlockingChain) => page.locator(`[data-testid="blocking-chain"][data-blocker-pid="${c.blockerPid}"]`);
    const targetOf = (id: string) => page.locator(`[data-testid="health-target"][data-profile-id="${id}"]`);
    const selectProfile = (id: string) => page.locator(`.profile-card[data-profile-id="${id}"] .profile-card-main`).click();
    const alive = async (pid: number) => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount === 1;
    /** The whole cockpit with every panel in view: the window is made as tall as the workspace's content. */
    const screenshot = async (name: string) => {
      await screenshotWorkspace(page, path.join(screenshots, name));
    };
    const addProfile = async (profile: Record<string, unknown>) => {
      const saved = await core.dispatch('profiles/save', { profile, secrets: { 'db-password': postgres.password } });
      if (!saved.ok) throw new Error(saved.error.message);
      return (saved.result as { profile: { id: string } }).profile.id;
    };

    beforeAll(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flightdeck-e2e-health-'));
      // A build of its own: another e2e file may be rebuilding dist/renderer at the same time.
      rendererDir = path.join(tmp, 'renderer');
      buildRendererInto(rendererDir);
      fs.mkdirSync(screenshots, { recursive: true });

      admin = await client('e2e-setup');
      await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
      await admin.query(`INSERT INTO ${table} VALUES (1, 0)`);

      core = await createCore({ transport: 'host', dataDir: path.join(tmp, 'data'), secretStore: new MemorySecretStore(), watchOnly: false, startSandboxWhenEmpty: false });
      host = await startHost({ core, port: 0, rendererDir });
      // The replica (to show beside the primary) and a profile reaching the primary through the
      // relay (to cut); the primary itself is added through the editor by the first test.
      await relay.open();
      const base = { engine: 'postgres', host: postgres.host, database: postgres.database, user: postgres.user };
      replicaId = await addProfile({ ...base, name: 'health-e2e replica', environment: 'replica', port: postgres.replicaPort, tls: { mode: 'prefer' } });
      relayedId = await addProfile({ ...base, name: 'health-e2e via relay', environment: 'staging', port: relay.port, tls: { mode: 'disable' } });
      ({ context, page, problems, cspViolations } = await launchCockpitBrowser(path.join(tmp, 'chromium-profile')));
    });

    afterAll(async () => {
      for (const c of chains) await Promise.all([c.blocker.end().catch(() => undefined), c.waiter.end().catch(() => undefined)]);
      await context?.close();
      await host?.close();
      await core?.shutdown();
      await relay.cut();
      await admin?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await admin?.end().catch(() => undefined);
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('adds a direct PostgreSQL profile and opens its live Health view', async () => {
      await page.goto(host.url);
      await page.getByRole('button', { name: '+ Add' }).click();
      await page.locator('#pf-name').fill(profileName);
      await page.locator('#pf-host').fill(postgres.host);
      await page.locator('#pf-port').fill(String(postgres.port));
      await page.locator('#pf-database').fill(postgres.database);
      await page.locator('#pf-user').fill(postgres.user);
      await page.locator('#pf-secrets-db-password').fill(postgres.password);
      await page.locator('#pf-tls-mode').selectOption('disable');
      await page.getByRole('button', { name: 'Save profile' }).click();
      await page.getByRole('tab', { name: 'Health' }).waitFor({ state: 'visible' });
      const list = (await core.dispatch('profiles/list', {})) as { ok: true; result: { profile: { id: string; name: string } }[] };
      profileId = list.result.find((p) => p.profile.name === profileName)!.profile.id;
      expect(await page.locator(`.profile-card[data-profile-id="${profileId}"]`).getAttribute('aria-current')).toBe('true');

      await page.getByRole('tab', { name: 'Health' }).click();
      const target = targetOf(profileId);
      await expect.poll(() => target.getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
      // The pool counts the test's own sessions; the replica streams from this primary.
      await expect.poll(async () => Number(await page.getByTestId('pool-total').locator('.stat-value').textContent()), { timeout: 10_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.getByTestId('replication-role').textContent()).toBe('primary');
      expect(await page.getByTestId('panel-locks').innerText()).toMatch(/No session is waiting on a lock/);
      expect(await page.getByTestId('panel-statements').isVisible()).toBe(true);
      // A few seconds of history, so the charts have lines to draw.
      await page.waitForTimeout(4000);
      await screenshot('health-panels.png');
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('shows a blocking chain with both pids and terminates the blocker from the Locks panel', async () => {
      const chain = await makeChain('dev');
      chains.push(chain);
      const shown = chainLocator(chain);
      await shown.waitFor({ state: 'visible', timeout: 5000 });
      const blockerRow = shown.getByTestId('chain-blocker');
      expect(await blockerRow.getAttribute('data-pid')).toBe(String(chain.blockerPid));
      expect(await blockerRow.innerText()).toMatch(/idle in transaction/);
      expect(await blockerRow.innerText()).toMatch(/e2e-blocker-dev/);
      const waiterRow = shown.locator(`[data-testid="chain-waiter"][data-pid="${chain.waiterPid}"]`);
      await waiterRow.waitFor({ state: 'visible' });
      expect(await waiterRow.innerText()).toContain(`public.${table}`);
      expect(await waiterRow.innerText()).toMatch(/UPDATE health_e2e_/);
      await expect.poll(async () => Number(await page.getByTestId('locks-waiting').locator('.stat-value').textContent())).toBeGreaterThanOrEqual(1);
      await page.waitForTimeout(1500);
      await screenshot('health-panels-chain.png');

      await blockerRow.getByRole('button', { name: 'Terminate' }).click();
      const dialog = page.getByTestId('signal-dialog');
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.innerText()).toContain(`pid ${chain.blockerPid}`);
      // Not production: a plain confirmation, no name to type.
      expect(await dialog.locator('#signal-confirm-name').count()).toBe(0);
      await dialog.getByRole('button', { name: 'Terminate session' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await expect.poll(() => page.getByTestId('signal-notice').innerText()).toMatch(new RegExp(`Terminated session ${chain.blockerPid}`));

      // The waiter got its row: its UPDATE finishes, and the chain leaves the panel.
      const updated = await chain.update;
      expect(updated.rowCount).toBe(1);
      await shown.waitFor({ state: 'detached', timeout: 5000 });
      expect(await alive(chain.blockerPid)).toBe(false);
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('on a production profile, refuses a wrong typed name with the hint and accepts the right one', async () => {
      await page.getByRole('tab', { name: 'Connection' }).click();
      await page.locator('.env-option-production').click();
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.locator(`.profile-card.env-production[data-profile-id="${profileId}"]`).waitFor({ state: 'visible' });
      await page.getByRole('tab', { name: 'Health' }).click();
      // The production band stays across the window while its health panels are open.
      const band = page.getByTestId('environment-band');
      await expect.poll(() => band.getAttribute('data-environment')).toBe('production');
      expect(await band.innerText()).toMatch(/PRODUCTION/);

      const chain = await makeChain('prod');
      chains.push(chain);
      const shown = chainLocator(chain);
      await shown.waitFor({ state: 'visible', timeout: 5000 });
      await shown.getByTestId('chain-blocker').getByRole('button', { name: 'Terminate' }).click();
      const dialog = page.getByTestId('signal-dialog');
      await dialog.waitFor({ state: 'visible' });
      const confirm = dialog.getByRole('button', { name: 'Terminate session' });
      expect(await confirm.isDisabled()).toBe(true);
      await dialog.locator('#signal-confirm-name').fill('health-e2e');
      await confirm.click();
      const refusal = dialog.getByRole('alert');
      await refusal.waitFor({ state: 'visible' });
      expect(await refusal.getAttribute('data-error-code')).toBe('FORBIDDEN');
      expect(await refusal.innerText()).toContain(`Type the profile name "${profileName}" to confirm.`);
      await page.screenshot({ path: path.join(screenshots, 'health-panels-production-refused.png') });
      expect(await alive(chain.blockerPid)).toBe(true);

      await dialog.locator('#signal-confirm-name').fill(profileName);
      await confirm.click();
      await dialog.waitFor({ state: 'hidden' });
      expect((await chain.update).rowCount).toBe(1);
      await shown.waitFor({ state: 'detached', timeout: 5000 });
      expect(await alive(chain.blockerPid)).toBe(false);
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('pauses, zooms by dragging across a chart, and exports the visible range as CSV', async () => {
      const followState = page.getByTestId('follow-state');
      await page.getByRole('button', { name: 'Pause' }).click();
      expect(await followState.textContent()).toMatch(/paused at \d\d:\d\d:\d\d · sampling continues/);
      await page.getByRole('button', { name: 'Resume live' }).click();
      expect(await followState.textContent()).toMatch(/live · a sample every 1 s/);

      const chart = page.getByTestId('chart-pool');
      const box = (await chart.boundingBox())!;
      // The plot starts after the 40 px y axis and ends 10 px before the edge; the history of this
      // target is only a minute old, so the drag picks the last seconds of the 5 minutes shown.
      const plotX = (f: number) => box.x + 40 + f * (box.width - 50);
      await page.mouse.move(plotX(0.85), box.y + 40);
      await page.mouse.down();
      await page.mouse.move(plotX(0.93), box.y + 40, { steps: 5 });
      await page.mouse.move(plotX(0.995), box.y + 40, { steps: 5 });
      await page.mouse.up();
      expect(await followState.textContent()).toMatch(/zoomed to \d\d:\d\d:\d\d – \d\d:\d\d:\d\d/);
      // Hovering reads the values under the cursor.
      await page.mouse.move(plotX(0.9), box.y + 50);
      await chart.locator('.chart-readout').waitFor({ state: 'visible' });
      expect(await chart.locator('.chart-readout').innerText()).toMatch(/total\s+\d+/);
      await page.screenshot({ path: path.join(screenshots, 'health-panels-zoomed.png') });

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      expect(download.suggestedFilename()).toMatch(/^health-e2e_primary-.*\.csv$/);
      const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split('\n');
      expect(csv[0]).toMatch(/^time,pool\.total,/);
      expect(csv.length).toBeGreaterThan(1);
      await page.getByRole('button', { name: 'Resume live' }).click();
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('turns stale when the server cannot be reached, says since when, and recovers by itself', async () => {
      await selectProfile(relayedId);
      const target = targetOf(relayedId);
      await expect.poll(() => target.getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
      await page.waitForTimeout(2000);
      await relay.cut();
      await expect.poll(() => target.getAttribute('data-state'), { timeout: 10_000 }).toBe('stale');
      const banner = target.getByTestId('stale-banner');
      await banner.waitFor({ state: 'visible' });
      expect(await banner.innerText()).toMatch(/stale — last good sample at \d\d:\d\d:\d\d/);
      expect(await target.locator('.health-panels.stale').count()).toBe(1);
      await screenshot('health-panels-stale.png');

      await relay.open();
      // Reconnects back off up to 10 intervals while the server is away.
      await expect.poll(() => target.getAttribute('data-state'), { timeout: 25_000 }).toBe('live');
      expect(await banner.count()).toBe(0);
      expect(await target.locator('.health-panels.stale').count()).toBe(0);
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('shows the replica beside the primary, with its own replay lag, and stops it when removed', async () => {
      await selectProfile(profileId);
      await expect.poll(() => targetOf(profileId).getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
      const picker = page.getByRole('combobox', { name: 'Show another profile beside this one' });
      await picker.selectOption(replicaId);
      const replica = targetOf(replicaId);
      await expect.poll(() => replica.getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
      await expect.poll(() => replica.getByTestId('replication-role').textContent()).toBe('replica');
      expect(await replica.getByTestId('panel-replication').innerText()).toMatch(/Replay lag/);
      await page.waitForTimeout(3000);
      await screenshot('health-panels-side-by-side.png');

      await replica.getByRole('button', { name: /^Remove / }).click();
      await replica.waitFor({ state: 'detached' });
      await expect.poll(() => core.services.monitor.states().find((s) => s.profileId === replicaId)?.state, { timeout: 10_000 }).toBe('stopped');
      expect(await cspViolations()).toEqual([]);
      expect(problems).toEqual([]);
    });
  });
}

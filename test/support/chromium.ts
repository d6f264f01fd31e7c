// Debian's Chromium driven by playwright-core, set up the way every e2e test needs it: headless,
// no network of its own, and every console error, page error and CSP violation recorded so a test
// can fail on them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, if they cannot; with CI=true a missing browser fails the run. */
export function chromiumMissing(): string | undefined {
  if (fs.existsSync(chromiumPath)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${chromiumPath} not found: install Debian's chromium package (.ci/run does).`);
  return `chromium (${chromiumPath} not found)`;
}

export interface Cockpit {
  context: BrowserContext;
  page: Page;
  /** Console errors and warnings, page errors and failed requests, unless `expected` says so. */
  problems: string[];
  cspViolations(): Promise<string[]>;
}

export async function launchCockpitBrowser(profileDir: string, expected: (text: string) => boolean = () => false): Promise<Cockpit> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1440, height: 900 },
  });
  // Recorded in the page itself: a CSP violation is also a console error, but this catches
  // reports Chromium does not log (style attributes blocked silently, for one).
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    if (expected(m.text())) return;
    problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const text = `request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`;
    if (!expected(text)) problems.push(text);
  });
  return { context, page, problems, cspViolations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp) };
}

export function screenshotDir(repoRoot: string): string {
  const dir = path.join(repoRoot, 'test-results');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Builds the renderer into a folder of the test's own: e2e files run in parallel, and one
 * rebuilding dist/renderer would pull the files from under another's browser. */
export function buildRendererInto(outDir: string): void {
  const repoRoot = path.resolve(import.meta.dirname, '../..');
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** A screenshot of the whole cockpit with every panel in view: the window is made as tall as the
 * workspace's content for the shot, then put back. */
export async function screenshotWorkspace(page: Page, file: string): Promise<void> {
  const content = await page.evaluate(() => document.querySelector('.workspace')!.scrollHeight);
  await page.setViewportSize({ width: 1440, height: Math.max(900, content + 110) });
  await page.screenshot({ path: file });
  await page.setViewportSize({ width: 1440, height: 900 });
}

// `flightdeck serve`: the cockpit in a browser, through the host on 127.0.0.1.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createCore } from '../core';
import { startHost } from '../host/server';
import { writeFileAtomic } from '../platform/atomic-file';
import { defaultDataDir } from '../platform/paths';
import { MemorySecretStore } from '../secrets/secret-store';
import { exitCodes, fail, untilStopSignal, usage } from './output';

export const serveHelp = `Usage: flightdeck serve [--port N] [--watch-only] [--open] [--no-sandbox] [--data-dir DIR]

Serves the cockpit on http://127.0.0.1:<port>/?token=… (the token keeps other local pages and
users out). With no connection profile saved yet, it starts the built-in sandbox.

  --port N        listen on N (default: a free port chosen by the system)
  --watch-only    refuse every call that changes anything (profiles, probes, sandbox)
  --open          open the URL in the default browser
  --no-sandbox    do not start the sandbox on an empty profile list
  --data-dir DIR  where profiles and the sandbox live (default: ${defaultDataDir()})

Secrets typed in the browser are kept in this process's memory only; to give them up front use
FLIGHTDECK_SECRET_<PROFILE>_<KIND> (e.g. FLIGHTDECK_SECRET_PROD_DB_DB_PASSWORD).`;

export async function serveCommand(argv: string[], rendererDir: string): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'watch-only': { type: 'boolean', default: false },
        open: { type: 'boolean', default: false },
        'no-sandbox': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(`${serveHelp}\n`);
      return exitCodes.ok;
    }
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port ${values.port} is not a port number.`, 'Use a number between 1 and 65535, or leave --port out.');
    const watchOnly = values['watch-only'];
    const dataDir = values['data-dir'] ?? defaultDataDir();
    const core = await createCore({
      transport: 'host',
      dataDir,
      secretStore: new MemorySecretStore(),
      watchOnly,
      logToStderr: true,
      startSandboxWhenEmpty: !values['no-sandbox'],
    });
    const host = await startHost({ core, port, rendererDir });
    if (values.open) await openInBrowser(host.url, dataDir);
    process.stdout.write(`Flightdeck cockpit${watchOnly ? ' (watch-only)' : ''}: ${host.url}\n`);

    await untilStopSignal();
    process.stderr.write('Stopping: closing connections and the sandbox…\n');
    await host.close();
    await core.shutdown();
    return exitCodes.ok;
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return fail(usage(e.message, 'Run `flightdeck serve --help`.'), false);
    return fail(e, false);
  }
}

/**
 * Opens the cockpit through a redirect page only this user can read, as Jupyter does: the token
 * never appears on a command line, where other local users could read it with `ps`.
 */
async function openInBrowser(url: string, dataDir: string): Promise<void> {
  const page = path.join(dataDir, `open-${process.pid}.html`);
  const html = `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><title>Flightdeck</title><a href="${url}">Open Flightdeck</a>\n`;
  await writeFileAtomic(page, html, 0o600);
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', page] : [page];
  // Best effort: a machine without a desktop still has the URL printed above.
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  // Long enough for a browser to start and read it; then the token is gone from the disk again.
  setTimeout(() => void fs.rm(page, { force: true }), 60_000).unref();
  process.once('exit', () => rmSync(page, { force: true }));
}

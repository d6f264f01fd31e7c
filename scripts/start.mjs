#!/usr/bin/env node
// `npm start` (after the build): the desktop app when the Electron binary is installed; otherwise
// the same cockpit in the browser through `flightdeck serve --open`. Arguments after `--` go to
// whichever runs, e.g. `npm start -- --watch-only`.
//
// Ctrl-C must reach the child exactly once: the host and Electron shut the sandbox down cleanly on
// the first signal, and a second one could cut that short. So on POSIX the child runs in its own
// process group (the terminal's SIGINT reaches only this script) and this script forwards the first
// SIGINT/SIGTERM it gets. On Windows the console delivers Ctrl-C to every process attached to it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/** Path of the Electron executable, or undefined when its download never happened. */
function electronBinary() {
  try {
    // The electron package exports the executable's path, and throws "Electron failed to install
    // correctly" when its postinstall download did not run.
    const binary = createRequire(import.meta.url)('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

function run(command, commandArgs, env) {
  const posix = process.platform !== 'win32';
  const child = spawn(command, commandArgs, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'], detached: posix });

  let forwarded = false;
  const forward = (signal) => {
    if (forwarded || !posix) return;
    forwarded = true;
    child.kill(signal);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGHUP', () => forward('SIGTERM'));
  // If this script goes away first, its child (in its own group) must not be left running.
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });

  child.on('error', (e) => {
    console.error(`start: cannot run ${command}: ${e.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === 'SIGINT' ? 130 : 1));
  });
}

/**
 * package.json's allowScripts keeps electron's postinstall (a download from GitHub) from running,
 * so `npm install` succeeds on machines that cannot reach it. Here, on the first start, we run that
 * same script once: on a workstation with the network it fetches the binary and the desktop app
 * opens; elsewhere it fails quietly and the browser cockpit opens instead. ELECTRON_SKIP_BINARY_DOWNLOAD
 * (Electron's own switch, set in CI) skips the attempt.
 */
async function fetchElectronBinary() {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return;
  let installScript;
  try {
    installScript = createRequire(import.meta.url).resolve('electron/install.js');
  } catch {
    return;
  }
  const child = spawn(process.execPath, [installScript], { cwd: path.dirname(installScript), stdio: 'ignore' });
  // Only a download that is really happening is worth a line; a blocked network fails at once.
  const notice = setTimeout(() => console.log('Downloading the Electron binary (first start only)…'), 2000);
  const limit = setTimeout(() => child.kill(), 300_000);
  await new Promise((resolve) => child.on('exit', resolve).on('error', resolve));
  clearTimeout(notice);
  clearTimeout(limit);
}

let electron = electronBinary();
if (!electron) {
  await fetchElectronBinary();
  electron = electronBinary();
}
if (electron) {
  const env = { ...process.env };
  // Set in some shells by other tools; it would make Electron behave as plain Node.
  delete env.ELECTRON_RUN_AS_NODE;
  run(electron, [root, ...args], env);
} else {
  console.log('Electron binary not installed (its download failed or is blocked here); opening the same cockpit in your browser instead.');
  run(process.execPath, [path.join(root, 'bin', 'flightdeck.js'), 'serve', '--open', ...args], process.env);
}

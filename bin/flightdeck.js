#!/usr/bin/env node
// The `flightdeck` command: runs the bundled CLI (dist/main/cli.js, built by scripts/build-main.mjs).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/main/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`flightdeck is not built yet: run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))} first.\n`);
  process.exit(1);
}
const { run } = await import(cli.href);
run();

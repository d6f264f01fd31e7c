#!/usr/bin/env node
// Bundles the Node-side entry points with esbuild:
//   main/electron/main.ts → dist/main/electron.cjs   Electron's main process (cjs, as Electron loads it)
//   preload/index.ts      → dist/preload/preload.cjs  sandboxed preload: may require only 'electron',
//                                                     so everything else is bundled into it
//   main/cli/index.ts     → dist/main/cli.js          `flightdeck` CLI and `serve` host (ESM, node20)
// and copies the runtime assets under main/ (*.sql) to dist/main/ at the same relative path, so
// main/sandbox/demo-schema.sql becomes dist/main/sandbox/demo-schema.sql next to the bundles.
//
// package.json dependencies stay external in the main bundles (electron-builder ships them in
// node_modules, npm installs them for the CLI); anything else is bundled. Any error fails the build.
import { build } from 'esbuild';
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const dependencies = Object.keys(pkg.dependencies ?? {});
const externalDeps = dependencies.flatMap((name) => [name, `${name}/*`]);

/** File extensions under main/ that code reads at runtime and esbuild does not bundle. */
const assetExtensions = new Set(['.sql']);

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: true,
  logLevel: 'warning',
  // Keep class and function names readable in stack traces and logs.
  keepNames: true,
  legalComments: 'none',
};

const targets = [
  {
    ...common,
    entryPoints: ['main/electron/main.ts'],
    outfile: 'dist/main/electron.cjs',
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['electron', ...externalDeps],
    // Shared core code finds files next to its module via import.meta.url; in a cjs bundle that is
    // rebuilt from __filename so the same code works in both bundles (both live in dist/main/).
    define: { 'import.meta.url': '__flightdeckImportMetaUrl' },
    banner: { js: "const __flightdeckImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  },
  {
    ...common,
    entryPoints: ['preload/index.ts'],
    outfile: 'dist/preload/preload.cjs',
    platform: 'browser',
    format: 'cjs',
    target: 'chrome130',
    external: ['electron'],
    // It is parsed on every page load and carries the whole contract (zod schemas included).
    minify: true,
  },
  {
    ...common,
    entryPoints: ['main/cli/index.ts'],
    outfile: 'dist/main/cli.js',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: externalDeps,
    // Bundled cjs code (and `require` in shared modules) needs a require in ESM output.
    banner: { js: "import { createRequire as __flightdeckCreateRequire } from 'node:module';\nconst require = __flightdeckCreateRequire(import.meta.url);" },
  },
];

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}

async function copyAssets() {
  const mainDir = path.join(root, 'main');
  const copied = [];
  for await (const file of walk(mainDir)) {
    if (!assetExtensions.has(path.extname(file))) continue;
    const rel = path.relative(mainDir, file);
    const dest = path.join(root, 'dist', 'main', rel);
    await mkdir(path.dirname(dest), { recursive: true });
    await cp(file, dest);
    copied.push(rel);
  }
  return copied;
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(0)} kB`;
}

try {
  // Stale bundles or assets from a previous layout must not survive into a package.
  await Promise.all([rm(path.join(root, 'dist', 'main'), { recursive: true, force: true }), rm(path.join(root, 'dist', 'preload'), { recursive: true, force: true })]);
  // Every bundle runs to the end, so one failing does not hide the others' diagnostics.
  const results = await Promise.allSettled(targets.map((t) => build(t)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [targets[i].outfile] : []));
  if (failed.length > 0) throw Object.assign(new Error(`could not build ${failed.join(', ')}`), { reported: true });
  const assets = await copyAssets();
  const sizes = await Promise.all(targets.map(async (t) => `${t.outfile} ${kb((await stat(path.join(root, t.outfile))).size)}`));
  const ms = Math.round(performance.now() - started);
  console.log(`build-main: ${sizes.join(', ')}, ${assets.length} asset${assets.length === 1 ? '' : 's'} (${assets.join(', ') || 'none'}) in ${ms} ms`);
} catch (e) {
  // esbuild has already printed its diagnostics; say once what failed.
  console.error(`build-main: failed: ${e?.reported ? e.message : (e?.stack ?? e)}`);
  process.exit(1);
}

// Keeps "the one seam" honest (shared/DESIGN.md): Electron stays in main/electron/ and preload/,
// code that runs in the page (renderer/) or on both sides (shared/) uses no Node, and the layers
// import downwards only. Imports are read from the TypeScript syntax tree, so an import inside a
// string or comment is not one, and `import()`, `require()` and `import('x').T` types are.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const skippedDirs = new Set(['node_modules', 'dist', 'release', '.git', '.flightdeck-test', 'test-results']);

/** Packages that only work in Node; never in the page or in shared/ (electron has its own rule). */
const nodeOnlyPackages = ['pg', 'pg-pool', 'pg-protocol', 'mysql2', 'mongodb', 'ssh2', 'ws', 'playwright-core', 'esbuild', 'electron-builder'];

interface Violation {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(packageName(specifier)) || builtinModules.includes(specifier);
}

function isUnder(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}/`);
}

/** Module specifiers a file imports, with 1-based lines. */
function importsOf(file: string, text: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: { specifier: string; line: number }[] = [];
  const add = (node: ts.Node | undefined) => {
    if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) {
      found.push({ specifier: node.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The rules, for one file given by its path relative to the repository root (with '/'). */
function scanSource(file: string, text: string): Violation[] {
  const violations: Violation[] = [];
  const inRenderer = isUnder(file, 'renderer');
  const inShared = isUnder(file, 'shared');
  const inPreload = isUnder(file, 'preload');
  const mayImportElectron = isUnder(file, 'main/electron') || inPreload;
  // The renderer's build config (vite.config.ts) runs in Node at build time, not in the page.
  const runsInPage = (inRenderer && !/\.config\.[cm]?ts$/.test(file)) || inShared;

  for (const { specifier, line } of importsOf(file, text)) {
    const v = (rule: string) => violations.push({ file, line, specifier, rule });
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    const target = relative ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : undefined;

    if (!relative && packageName(specifier) === 'electron' && !mayImportElectron) v('electron is imported only in main/electron/ and preload/');
    if (runsInPage && !relative && isNodeBuiltin(specifier)) v(`${inShared ? 'shared/' : 'renderer/'} runs in the page: no Node built-ins`);
    if (runsInPage && !relative && nodeOnlyPackages.includes(packageName(specifier))) v(`${inShared ? 'shared/' : 'renderer/'} runs in the page: no Node-only packages`);
    if (target !== undefined) {
      if (inRenderer && (isUnder(target, 'main') || isUnder(target, 'preload'))) v('renderer/ talks to the core only through the API: no imports from main/ or preload/');
      if (inShared && !isUnder(target, 'shared')) v('shared/ is the bottom layer: it imports only shared/');
      if (inPreload && !isUnder(target, 'preload') && !isUnder(target, 'shared')) v('preload/ is bundled into a sandbox: it imports only preload/ and shared/');
    }
  }
  return violations;
}

function sourceFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skippedDirs.has(entry.name)) continue;
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...sourceFiles(path.join(dir, entry.name), childRel));
    else if (/\.(ts|tsx|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(childRel);
  }
  return out;
}

describe('import boundaries', () => {
  it('hold across the repository', () => {
    const files = sourceFiles(root);
    expect(files.length).toBeGreaterThan(0);
    const violations = files.flatMap((file) => scanSource(file, readFileSync(path.join(root, file), 'utf8')));
    const report = violations.map((v) => `${v.file}:${v.line}  '${v.specifier}'  ${v.rule}`).join('\n');
    expect(report, `import boundary violations:\n${report}`).toBe('');
  });
});

describe('the boundary scanner', () => {
  const rules = (file: string, text: string) => scanSource(file, text).map((v) => `${v.line}:${v.specifier}`);

  it('refuses electron outside main/electron/ and preload/', () => {
    expect(rules('main/core.ts', "import { app } from 'electron';")).toEqual(['1:electron']);
    expect(rules('main/host/server.ts', "\n\nconst e = require('electron');")).toEqual(['3:electron']);
    expect(rules('test/unit/x.test.ts', "const m = await import('electron/main');")).toEqual(['1:electron/main']);
    expect(rules('main/cli/x.ts', "type W = import('electron').BrowserWindow;")).toEqual(['1:electron']);
    expect(rules('main/electron/main.ts', "import { app } from 'electron';")).toEqual([]);
    expect(rules('preload/index.ts', "import { contextBridge } from 'electron';")).toEqual([]);
    // A lookalike folder is not main/electron/.
    expect(rules('main/electron-helpers/x.ts', "import 'electron';")).toEqual(['1:electron']);
  });

  it('refuses Node built-ins and Node-only packages in renderer/ and shared/', () => {
    expect(rules('shared/x.ts', "import fs from 'node:fs';")).toEqual(['1:node:fs']);
    expect(rules('shared/x.ts', "import path from 'path';\nimport { readFile } from 'fs/promises';")).toEqual(['1:path', '2:fs/promises']);
    expect(rules('renderer/src/a.tsx', "export * from 'child_process';")).toEqual(['1:child_process']);
    expect(rules('renderer/src/a.ts', "import pg from 'pg';\nimport { Client } from 'ssh2';\nimport WebSocket from 'ws';")).toEqual(['1:pg', '2:ssh2', '3:ws']);
    expect(rules('renderer/src/a.ts', "import { ipcRenderer } from 'electron';")).toEqual(['1:electron']);
    expect(rules('renderer/src/a.ts', "import { create } from 'zustand';\nimport { z } from 'zod';")).toEqual([]);
    // Node is fine in main/, and in the renderer's build config, which runs in Node.
    expect(rules('main/host/server.ts', "import http from 'node:http';\nimport { WebSocketServer } from 'ws';")).toEqual([]);
    expect(rules('renderer/vite.config.ts', "import path from 'node:path';")).toEqual([]);
  });

  it('refuses renderer/ importing main/ or preload/, and shared/ importing upwards', () => {
    expect(rules('renderer/src/api/x.ts', "import { createCore } from '../../../main/core';")).toEqual(['1:../../../main/core']);
    expect(rules('renderer/src/api/x.ts', "import { callChannel } from '../../../preload/channels';")).toEqual(['1:../../../preload/channels']);
    expect(rules('renderer/src/api/x.ts', "import { calls } from '../../../shared/api';")).toEqual([]);
    expect(rules('shared/api.ts', "import type { Core } from '../main/core';")).toEqual(['1:../main/core']);
    expect(rules('preload/index.ts', "import { redact } from '../main/log';")).toEqual(['1:../main/log']);
    expect(rules('preload/index.ts', "import { buildApi } from '../shared/api';\nimport { callChannel } from './channels';")).toEqual([]);
  });

  it('reads imports from syntax, not text', () => {
    const text = [
      "// import { app } from 'electron';",
      "const doc = \"import fs from 'node:fs'\";",
      'const tpl = `require("child_process")`;',
      "const name = 'electron';",
    ].join('\n');
    expect(rules('shared/x.ts', text)).toEqual([]);
    expect(rules('main/core.ts', text)).toEqual([]);
  });

  it('reports the file and line of each violation', () => {
    const [v] = scanSource('main/services.ts', "import path from 'node:path';\n\nimport { shell } from 'electron';\n");
    expect(v).toMatchObject({ file: 'main/services.ts', line: 3, specifier: 'electron' });
  });
});

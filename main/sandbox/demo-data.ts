// Loads the demo shop (demo-schema.sql) into the sandbox's database, step by step with progress,
// in one transaction: either the whole shop is there or none of it is.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export const demoSchemaFileName = 'demo-schema.sql';

export interface DemoStep {
  label: string;
  sql: string;
}

function moduleDir(): string | undefined {
  // The main process is bundled as CommonJS (__dirname exists); tests run this file as ESM.
  if (typeof __dirname === 'string') return __dirname;
  try {
    return path.dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
}

/** The SQL file ships beside this module in the source tree, and beside (or in sandbox/ under) the
 * bundle in a build. */
export function locateDemoSchema(): string {
  const here = moduleDir();
  const candidates = [
    ...(here ? [path.join(here, demoSchemaFileName), path.join(here, 'sandbox', demoSchemaFileName)] : []),
    path.join(process.cwd(), 'main', 'sandbox', demoSchemaFileName),
  ];
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`${demoSchemaFileName} not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Splits the file at its `-- step: <label>` lines; text before the first step is commentary. */
export function parseDemoSteps(text: string): DemoStep[] {
  const steps: DemoStep[] = [];
  let current: DemoStep | undefined;
  for (const line of text.split('\n')) {
    const m = /^--\s*step:\s*(.+?)\s*$/.exec(line);
    if (m) {
      current = { label: m[1]!, sql: '' };
      steps.push(current);
    } else if (current) {
      current.sql += line + '\n';
    }
  }
  return steps.filter((s) => s.sql.trim() !== '');
}

/** Runs every step in one transaction on `client` (connected to the demo database), reporting
 * the fraction done after each. */
export async function loadDemoData(client: pg.Client, onStep: (label: string, fraction: number) => void, schemaFile = locateDemoSchema()): Promise<void> {
  const steps = parseDemoSteps(fs.readFileSync(schemaFile, 'utf8'));
  if (steps.length === 0) throw new Error(`${schemaFile} holds no "-- step:" sections`);
  await client.query('BEGIN');
  try {
    for (const [i, step] of steps.entries()) {
      onStep(step.label, i / steps.length);
      await client.query(step.sql);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Whether the demo shop is completely loaded: the last object the load creates is there. */
export async function demoDataPresent(client: pg.Client): Promise<boolean> {
  const res = await client.query<{ present: boolean }>("SELECT to_regclass('shop.daily_revenue') IS NOT NULL AS present");
  return res.rows[0]?.present === true;
}

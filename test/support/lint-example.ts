// Runs rules over a SQL example as the planner would over a migration file: an example starting
// with "-- down" is a down file (its up is the text after "-- up:" on that first line, if any).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Finding } from '../../shared/plan';
import { planSet } from '../../main/analysis/plan-set';
import type { Rule } from '../../main/analysis/rules/rule';
import { readMigrationSet } from '../../main/migrations/migration-set';

export async function lintExample(sql: string, rule: Rule | Rule[], opts: { up?: string } = {}): Promise<Finding[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fd-lint-'));
  try {
    const rulesList = Array.isArray(rule) ? rule : [rule];
    if (rulesList.every((r) => r.engines.length === 1 && r.engines[0] === 'mongodb')) {
      await fs.writeFile(path.join(dir, '20240101000000-example.js'), sql);
      const report = await planSet(await readMigrationSet(dir), { engine: 'mongodb', rules: rulesList });
      const up = report.migrations[0]!.up!;
      if (up.parseError) throw new Error(`the example does not parse: ${up.parseError.message}`);
      return up.findings.filter((f) => !f.silenced);
    }
    const isDown = /^--\s*down\b/i.test(sql);
    const upText = isDown ? (opts.up ?? /^--\s*down\b.*?up:\s*(.*)$/im.exec(sql.split('\n')[0]!)?.[1] ?? 'SELECT 1;') : sql;
    await fs.writeFile(path.join(dir, '1_example.up.sql'), upText);
    if (isDown) await fs.writeFile(path.join(dir, '1_example.down.sql'), sql);
    const set = await readMigrationSet(dir);
    const rules = Array.isArray(rule) ? rule : [rule];
    const engine = rules.every((r) => !r.engines.includes('postgres')) ? 'mysql' : 'postgres';
    const report = await planSet(set, { engine, rules });
    const m = report.migrations[0]!;
    const file = isDown ? m.down : m.up;
    if (!file) throw new Error('the example file was not read');
    if (file.parseError) throw new Error(`the example does not parse: ${file.parseError.message}`);
    return file.findings.filter((f) => !f.silenced);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// Every lint rule against its own bad and good examples (kept in the rule's file, as squawk does):
// each bad example must produce a finding of that rule, each good one none.
import { beforeAll, describe, expect, it } from 'vitest';
import { allRules } from '../../main/analysis/rules';
import { lintExample } from '../support/lint-example';

beforeAll(async () => {
  const { loadPostgresParser } = await import('../../main/migrations/split-postgres');
  await loadPostgresParser();
});

describe.each(allRules.map((r) => [r.id, r] as const))('rule %s', (_id, rule) => {
  it('has examples of both kinds', () => {
    expect(rule.examples.bad.length).toBeGreaterThan(0);
    expect(rule.examples.good.length).toBeGreaterThan(0);
  });
  it.each(rule.examples.bad.map((sql, i) => [i, sql]))('flags bad example %i', async (_i, sql) => {
    const findings = await lintExample(sql, rule);
    expect(findings.filter((f) => f.rule === rule.id).length, `no ${rule.id} finding for:\n${sql}`).toBeGreaterThan(0);
  });
  it.each(rule.examples.good.map((sql, i) => [i, sql]))('passes good example %i', async (_i, sql) => {
    const findings = await lintExample(sql, rule);
    expect(findings.filter((f) => f.rule === rule.id).map((f) => f.message)).toEqual([]);
  });
});

it('registers every rule file once, under an export named after its id', async () => {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const dir = path.resolve(import.meta.dirname, '../../main/analysis/rules');
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.ts') && !['index.ts', 'rule.ts'].includes(f));
  expect(new Set(allRules.map((r) => r.id)).size).toBe(allRules.length);
  for (const file of files) {
    const mod = (await import(path.join(dir, file))) as Record<string, unknown>;
    const rules = Object.values(mod).filter((v): v is (typeof allRules)[number] => Boolean(v && typeof v === 'object' && 'checkStatement' in v || (v && typeof v === 'object' && 'examples' in v)));
    for (const rule of rules) {
      expect(allRules, `${file} is not registered in rules/index.ts`).toContain(rule);
      expect(mod[rule.id.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())], file).toBe(rule);
      expect(`${rule.id}.ts`).toBe(file);
    }
  }
});

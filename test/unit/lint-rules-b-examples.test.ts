// The second batch of lint rules against their own bad and good examples, as lint-rules.test.ts
// does for the registered rules: each bad example must produce a finding of that rule, each good
// one none.
import { beforeAll, describe, expect, it } from 'vitest';
import { backfillInSchemaMigration } from '../../main/analysis/rules/backfill-in-schema-migration';
import { concurrentlyInTransaction } from '../../main/analysis/rules/concurrently-in-transaction';
import { dataLossRollback } from '../../main/analysis/rules/data-loss-rollback';
import { indexWithoutConcurrently } from '../../main/analysis/rules/index-without-concurrently';
import { missingDown } from '../../main/analysis/rules/missing-down';
import { missingLockTimeout } from '../../main/analysis/rules/missing-lock-timeout';
import type { Rule } from '../../main/analysis/rules/rule';
import { transactionControlInFile } from '../../main/analysis/rules/transaction-control-in-file';
import { workAfterAccessExclusive } from '../../main/analysis/rules/work-after-access-exclusive';
import { lintExample } from '../support/lint-example';

const rules: Rule[] = [indexWithoutConcurrently, concurrentlyInTransaction, missingLockTimeout, workAfterAccessExclusive, backfillInSchemaMigration, missingDown, dataLossRollback, transactionControlInFile];

beforeAll(async () => {
  const { loadPostgresParser } = await import('../../main/migrations/split-postgres');
  await loadPostgresParser();
});

describe.each(rules.map((r) => [r.id, r] as const))('rule %s', (_id, rule) => {
  it('has examples of both kinds', () => {
    expect(rule.examples.bad.length).toBeGreaterThanOrEqual(2);
    expect(rule.examples.good.length).toBeGreaterThanOrEqual(2);
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

it('every rule id is unique and the export is the camelCase of the id', async () => {
  const mod = {
    ...(await import('../../main/analysis/rules/index-without-concurrently')),
    ...(await import('../../main/analysis/rules/concurrently-in-transaction')),
    ...(await import('../../main/analysis/rules/missing-lock-timeout')),
    ...(await import('../../main/analysis/rules/work-after-access-exclusive')),
    ...(await import('../../main/analysis/rules/backfill-in-schema-migration')),
    ...(await import('../../main/analysis/rules/missing-down')),
    ...(await import('../../main/analysis/rules/data-loss-rollback')),
    ...(await import('../../main/analysis/rules/transaction-control-in-file')),
  } as Record<string, unknown>;
  expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
  for (const r of rules) expect(mod[r.id.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())]).toBe(r);
});

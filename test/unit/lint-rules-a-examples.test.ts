// The first batch of PostgreSQL rules against their own bad and good examples, through the same
// harness as lint-rules.test.ts: each bad example must produce a finding of that rule, each good one
// none.
import { beforeAll, describe, expect, it } from 'vitest';
import { constraintWithoutNotValid } from '../../main/analysis/rules/constraint-without-not-valid';
import { dropTable } from '../../main/analysis/rules/drop-table';
import { enumChange } from '../../main/analysis/rules/enum-change';
import { notNullColumnWithoutDefault } from '../../main/analysis/rules/not-null-column-without-default';
import { notNullWithoutCheck } from '../../main/analysis/rules/not-null-without-check';
import { renameColumn } from '../../main/analysis/rules/rename-column';
import { renameTable } from '../../main/analysis/rules/rename-table';
import type { Rule } from '../../main/analysis/rules/rule';
import { typeChangeRewrite } from '../../main/analysis/rules/type-change-rewrite';
import { uniqueWithoutConcurrentIndex } from '../../main/analysis/rules/unique-without-concurrent-index';
import { volatileDefault } from '../../main/analysis/rules/volatile-default';
import { lintExample } from '../support/lint-example';

const rules: Rule[] = [dropTable, renameColumn, renameTable, typeChangeRewrite, volatileDefault, notNullWithoutCheck, notNullColumnWithoutDefault, constraintWithoutNotValid, uniqueWithoutConcurrentIndex, enumChange];

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

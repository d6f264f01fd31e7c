// Phase 1 analysis of a migration set on PostgreSQL: every statement of every file parsed with
// PostgreSQL's parser, classified, its locks and rewrites from the static table, linted; files that
// do not parse are reported with the line, never guessed at.
import { FlightdeckError } from '../../shared/errors';
import type { Engine } from '../../shared/profile';
import { type FilePlan, type Finding, type MigrationPlan, type PlanReport, type StatementAnalysis, type StatementClass, type TableLock } from '../../shared/plan';
import type { Migration, MigrationFile, MigrationSet } from '../migrations/migration-set';
import { loadPostgresParser, segmentPostgres, splitPostgres, statementSummary, type PgStatement } from '../migrations/split-postgres';
import { splitMysql, type MysqlStatement } from '../migrations/split-mysql';
import { analysePostgresStatement, relName, strongest, worstBlock, type StaticAnalysis } from './postgres-locks';
import { analyseMongoFile } from './mongo-analysis';
import { analyseMysqlStatement, parseMysql, type MysqlAnalysis } from './mysql-online-ddl';
import { allRules } from './rules';
import type { FileContext, Rule, StatementContext } from './rules/rule';
import { readSilences, silenceFor } from './silences';

export interface PlanOptions {
  engine: Engine;
  rules?: Rule[];
  serverVersionNum?: number;
}

interface ParsedFile {
  file: MigrationFile;
  statements: PgStatement[];
  analyses: StaticAnalysis[];
  inTransaction: boolean[];
  error?: { line: number; message: string };
}

function parseFile(file: MigrationFile, serverVersionNum: number): ParsedFile {
  try {
    const statements = splitPostgres(file.text, file.file, serverVersionNum);
    const analyses = statements.map((s) => analysePostgresStatement(s.kind, s.node));
    const inTransaction = statements.map(() => false);
    try {
      for (const seg of segmentPostgres(statements, file.file)) {
        if (seg.transactional && seg.statements.length > 1) for (const s of seg.statements) inTransaction[s.index] = true;
      }
    } catch {
      // A file the runner would refuse (CONCURRENTLY inside its own BEGIN): the rules report it.
    }
    return { file, statements, analyses, inTransaction };
  } catch (e) {
    if (!(e instanceof FlightdeckError)) throw e;
    const line = Number((e.details as { line?: number } | undefined)?.line ?? 1);
    return { file, statements: [], analyses: [], inTransaction: [], error: { line, message: e.message } };
  }
}

const lockTimeoutSet = (s: PgStatement) => s.kind === 'VariableSetStmt' && String((s.node as { name?: string }).name).toLowerCase() === 'lock_timeout';

function lintFile(p: ParsedFile, other: ParsedFile | undefined, migration: Migration, direction: 'up' | 'down', rules: Rule[]): Finding[] {
  const findings: Finding[] = [];
  const silences = readSilences(p.file.text);
  const push = (rule: Rule, hit: { message: string; rewrite: string; line?: number; severity?: Finding['severity'] }, statement: number, prevLine: number) => {
    const line = hit.line ?? (statement >= 0 ? p.statements[statement]!.line : 1);
    const s = silenceFor(silences, rule.id, line, prevLine);
    findings.push({ rule: rule.id, severity: hit.severity ?? rule.severity, file: p.file.file, line, statement, message: hit.message, why: rule.why, rewrite: hit.rewrite, ...(s ? { silenced: { reason: s.reason!, line: s.line } } : {}) });
  };
  const created = new Set<string>();
  let timeoutSet = false;
  p.statements.forEach((statement, index) => {
    const ctx: StatementContext = { engine: 'postgres', direction, migration, file: p.file, statements: p.statements, analyses: p.analyses, index, statement, analysis: p.analyses[index]!, inTransaction: p.inTransaction[index]!, createdEarlier: created, lockTimeoutSet: timeoutSet };
    const prevLine = index > 0 ? p.statements[index - 1]!.line : 0;
    for (const rule of rules) for (const hit of rule.checkStatement?.(ctx) ?? []) push(rule, hit, index, prevLine);
    // A table created here is new and empty, unless IF NOT EXISTS found one already there.
    if (statement.kind === 'CreateStmt' && !statement.node.if_not_exists) created.add(relName(statement.node.relation as { relname: string }));
    if (lockTimeoutSet(statement)) timeoutSet = true;
  });
  const fctx: FileContext = { engine: 'postgres', direction, migration, file: p.file, statements: p.statements, analyses: p.analyses, ...(other && !other.error ? { other: { file: other.file, statements: other.statements, analyses: other.analyses } } : {}) };
  for (const rule of rules) for (const hit of rule.checkFile?.(fctx) ?? []) push(rule, hit, -1, 0);
  // A silence without a reason silences nothing, and says so.
  for (const s of silences.filter((x) => !x.reason)) {
    findings.push({ rule: 'silence-without-reason', severity: 'warning', file: p.file.file, line: s.line, statement: -1, message: `flightdeck:ignore ${s.rules.join(',')} gives no reason, so it silences nothing.`, why: 'A silenced finding goes into the window\'s record; the record must say why the risk was taken.', rewrite: `-- flightdeck:ignore ${s.rules.join(',')} reason: <why this is safe here>` });
  }
  return findings.sort((a, b) => a.line - b.line);
}

function toAnalyses(p: ParsedFile): StatementAnalysis[] {
  return p.statements.map((s, i) => {
    const a = p.analyses[i]!;
    return {
      file: p.file.file,
      line: s.line,
      index: s.index,
      summary: statementSummary(s.text),
      command: a.command,
      class: a.class,
      locks: a.locks,
      rewrites: a.rewrites,
      scans: a.scans,
      blocks: worstBlock(a.locks),
      outsideTransaction: Boolean(s.ownTransaction && /cannot run inside/.test(s.ownTransaction)),
      notes: a.notes,
      changes: a.changes,
    };
  });
}

function overallClass(statements: StatementAnalysis[]): StatementClass {
  const classes = statements.map((s) => s.class);
  if (classes.includes('backward-incompatible')) return 'backward-incompatible';
  if (classes.includes('data-transformation')) return 'data-transformation';
  if (classes.includes('backward-compatible')) return 'backward-compatible';
  return 'other';
}

export async function planSet(set: MigrationSet, opts: PlanOptions): Promise<PlanReport> {
  if (opts.engine === 'mysql') return planMysqlSet(set, opts.rules ?? allRules);
  if (opts.engine === 'mongodb') return planMongoSet(set, opts.rules ?? allRules);
  await loadPostgresParser();
  const rules = opts.rules ?? allRules;
  const serverVersionNum = opts.serverVersionNum ?? 150000;
  const migrations: MigrationPlan[] = [];
  const counts = { error: 0, warning: 0, info: 0, silenced: 0, statements: 0, unparsed: 0, unparsedStatements: 0 };
  for (const m of set.migrations) {
    const up = m.up ? parseFile(m.up, serverVersionNum) : undefined;
    const down = m.down ? parseFile(m.down, serverVersionNum) : undefined;
    const plans: Partial<Record<'up' | 'down', FilePlan>> = {};
    for (const [direction, p, other] of [['up', up, down], ['down', down, up]] as const) {
      if (!p) continue;
      const findings = p.error ? [] : lintFile(p, other, m, direction, rules);
      plans[direction] = { file: p.file.file, direction, statements: toAnalyses(p), findings, ...(p.error ? { parseError: p.error } : {}) };
      counts.statements += p.statements.length;
      if (p.error) counts.unparsed++;
      for (const f of findings) {
        if (f.silenced) counts.silenced++;
        else counts[f.severity]++;
      }
    }
    const upStatements = plans.up?.statements ?? [];
    let strongestLock: TableLock | null = null;
    // An index's table is not known statically: the strongest lock names a table when one is known.
    for (const s of upStatements) for (const l of s.locks) if (!strongestLock || strongest(strongestLock.lock, l.lock) !== strongestLock.lock || (strongestLock.table.endsWith(' (index)') && l.lock === strongestLock.lock && !l.table.endsWith(' (index)'))) strongestLock = l;
    migrations.push({
      version: m.version,
      title: m.title,
      ...(plans.up ? { up: plans.up } : {}),
      ...(plans.down ? { down: plans.down } : {}),
      class: overallClass(upStatements),
      strongestLock,
      blocks: worstBlock(upStatements.flatMap((s) => s.locks)),
      estimates: [],
    });
  }
  return withSetProblems(set, { dir: set.dir, engine: opts.engine, migrations, counts, problems: set.problems, traced: false, estimated: false, strategy: null, notes: [] });
}

/** MySQL/MariaDB: statements split as the mysql client would, each parsed with node-sql-parser's
 * MySQL grammar for its online-DDL answer. Stored programs and statements the grammar does not
 * cover are listed as not parsed, with the parser's message (the server's own parser checks them
 * in Phase 0). */
function planMysqlSet(set: MigrationSet, rules: Rule[]): PlanReport {
  const migrations: MigrationPlan[] = [];
  const counts = { error: 0, warning: 0, info: 0, silenced: 0, statements: 0, unparsed: 0, unparsedStatements: 0 };
  for (const m of set.migrations) {
    const plans: Partial<Record<'up' | 'down', FilePlan>> = {};
    for (const direction of ['up', 'down'] as const) {
      const file = m[direction];
      if (!file) continue;
      let statements: MysqlStatement[];
      try {
        statements = splitMysql(file.text, file.file);
      } catch (e) {
        if (!(e instanceof FlightdeckError)) throw e;
        plans[direction] = { file: file.file, direction, statements: [], findings: [], parseError: { line: Number((e.details as { line?: number } | undefined)?.line ?? 1), message: e.message } };
        counts.unparsed++;
        continue;
      }
      const analyses: (MysqlAnalysis | null)[] = [];
      const out: StatementAnalysis[] = [];
      for (const s of statements) {
        const parsed = /^CREATE (PROCEDURE|FUNCTION|TRIGGER|EVENT)$/.test(s.kind) ? { ok: false, error: `a stored ${s.kind.split(' ')[1]!.toLowerCase()}: node-sql-parser's grammar does not cover compound statements` } : parseMysql(s.text);
        const a = parsed.ok && parsed.ast ? analyseMysqlStatement(parsed.ast) : null;
        analyses.push(a);
        if (!a) counts.unparsedStatements++;
        out.push({
          file: file.file,
          line: s.line,
          index: s.index,
          summary: statementSummary(s.text),
          command: a?.command ?? s.kind,
          class: a?.class ?? (s.dml ? 'data-transformation' : 'other'),
          locks: [],
          rewrites: a?.rewrites ?? [],
          scans: a?.scans ?? [],
          blocks: a?.blocks ?? 'nothing',
          // MySQL commits DDL implicitly; "outside a transaction" says nothing new there.
          outsideTransaction: false,
          ...(a?.online ? { online: a.online } : {}),
          ...(a ? {} : { unparsed: parsed.error ?? 'not parsed' }),
          notes: a?.notes ?? [],
          changes: a?.changes ?? [],
        });
      }
      const findings = lintMysqlFile(file, statements, analyses, m, direction, rules);
      plans[direction] = { file: file.file, direction, statements: out, findings };
      counts.statements += statements.length;
      for (const f of findings) {
        if (f.silenced) counts.silenced++;
        else counts[f.severity]++;
      }
    }
    const up = plans.up?.statements ?? [];
    const order = ['nothing', 'ddl', 'writes', 'reads-and-writes'] as const;
    migrations.push({
      version: m.version,
      title: m.title,
      ...(plans.up ? { up: plans.up } : {}),
      ...(plans.down ? { down: plans.down } : {}),
      class: overallClass(up),
      strongestLock: null,
      blocks: up.reduce<(typeof order)[number]>((w, s) => (order.indexOf(s.blocks) > order.indexOf(w) ? s.blocks : w), 'nothing'),
      estimates: [],
    });
  }
  return withSetProblems(set, { dir: set.dir, engine: 'mysql', migrations, counts, problems: set.problems, traced: false, estimated: false, strategy: null, notes: [] });
}

function lintMysqlFile(file: MigrationFile, statements: MysqlStatement[], analyses: (MysqlAnalysis | null)[], migration: Migration, direction: 'up' | 'down', rules: Rule[]): Finding[] {
  const findings: Finding[] = [];
  const silences = readSilences(file.text);
  const push = (rule: Rule, hit: { message: string; rewrite: string; line?: number; severity?: Finding['severity'] }, statement: number, prevLine: number) => {
    const line = hit.line ?? (statement >= 0 ? statements[statement]!.line : 1);
    const s = silenceFor(silences, rule.id, line, prevLine);
    findings.push({ rule: rule.id, severity: hit.severity ?? rule.severity, file: file.file, line, statement, message: hit.message, why: rule.why, rewrite: hit.rewrite, ...(s ? { silenced: { reason: s.reason!, line: s.line } } : {}) });
  };
  const created = new Set<string>();
  statements.forEach((statement, index) => {
    const prevLine = index > 0 ? statements[index - 1]!.line : 0;
    for (const rule of rules) for (const hit of rule.checkMysqlStatement?.({ engine: 'mysql', direction, migration, file, statement, analysis: analyses[index] ?? null, createdEarlier: created }) ?? []) push(rule, hit, index, prevLine);
    const m = /^CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?!IF\s+NOT\s+EXISTS)`?([\w$]+)`?/i.exec(statement.text);
    if (m) created.add(m[1]!);
  });
  for (const rule of rules) for (const hit of rule.checkMysqlFile?.({ engine: 'mysql', direction, migration, file, statements, analyses }) ?? []) push(rule, hit, -1, 0);
  return findings.sort((a, b) => a.line - b.line);
}

/** MongoDB: the driver calls in each migrate-mongo file's up and down, read from its syntax tree.
 * Up and down live in one file, so the file's plan is listed as the up. */
function planMongoSet(set: MigrationSet, rules: Rule[]): PlanReport {
  const migrations: MigrationPlan[] = [];
  const counts = { error: 0, warning: 0, info: 0, silenced: 0, statements: 0, unparsed: 0, unparsedStatements: 0 };
  for (const m of set.migrations) {
    const file = m.up;
    if (!file) continue;
    const analysis = analyseMongoFile(file.text);
    const statements: StatementAnalysis[] = analysis.calls.map((c) => ({
      file: file.file,
      line: c.line,
      index: c.index,
      summary: `${c.fn}: ${c.text}`,
      command: c.command,
      class: c.class,
      locks: [],
      rewrites: [],
      scans: c.command.startsWith('createIndex') && c.collection ? [c.collection] : [],
      blocks: c.blocks,
      outsideTransaction: false,
      notes: c.notes,
      changes: c.changes,
    }));
    const findings: Finding[] = [];
    const silences = readSilences(file.text.replace(/\/\/\s*flightdeck:/g, '-- flightdeck:'));
    const push = (rule: Rule, hit: { message: string; rewrite: string; line?: number; severity?: Finding['severity'] }, statement: number, line: number, prevLine: number) => {
      const s = silenceFor(silences, rule.id, line, prevLine);
      findings.push({ rule: rule.id, severity: hit.severity ?? rule.severity, file: file.file, line: hit.line ?? line, statement, message: hit.message, why: rule.why, rewrite: hit.rewrite, ...(s ? { silenced: { reason: s.reason!, line: s.line } } : {}) });
    };
    if (!analysis.error) {
      const created = { up: new Set<string>(), down: new Set<string>() };
      analysis.calls.forEach((call, i) => {
        const prevLine = i > 0 ? analysis.calls[i - 1]!.line : 0;
        for (const rule of rules) for (const hit of rule.checkMongoCall?.({ engine: 'mongodb', migration: m, file, call, createdEarlier: created[call.fn] }) ?? []) push(rule, hit, i, call.line, prevLine);
        if (call.command === 'db.createCollection()' && call.collection) created[call.fn].add(call.collection);
      });
      for (const rule of rules) for (const hit of rule.checkMongoFile?.({ engine: 'mongodb', migration: m, file, analysis }) ?? []) push(rule, hit, -1, 1, 0);
    }
    counts.statements += statements.length;
    if (analysis.error) counts.unparsed++;
    for (const f of findings) {
      if (f.silenced) counts.silenced++;
      else counts[f.severity]++;
    }
    const up = statements.filter((_, i) => analysis.calls[i]!.fn === 'up');
    const order = ['nothing', 'ddl', 'writes', 'reads-and-writes'] as const;
    migrations.push({
      version: m.version,
      title: m.title,
      up: { file: file.file, direction: 'up', statements, findings: findings.sort((a, b) => a.line - b.line), ...(analysis.error ? { parseError: analysis.error } : {}) },
      class: overallClass(up),
      strongestLock: null,
      blocks: up.reduce<(typeof order)[number]>((w, s) => (order.indexOf(s.blocks) > order.indexOf(w) ? s.blocks : w), 'nothing'),
      estimates: [],
    });
  }
  return withSetProblems(set, { dir: set.dir, engine: 'mongodb', migrations, counts, problems: set.problems, traced: false, estimated: false, strategy: null, notes: [] });
}

/** A down file the reader set aside (empty, or only comments such as "no rollback") is not the
 * same as no down file: the missing-down finding says which it is. */
function withSetProblems(set: MigrationSet, report: PlanReport): PlanReport {
  for (const m of report.migrations) {
    const emptyDown = set.problems.find((p) => p.code === 'EMPTY_FILE' && p.file && p.file !== m.up?.file && (p.file.startsWith(`${m.version}_`) || p.file.startsWith(`U${m.version}__`) || new RegExp(`^0*${m.version}_`).test(p.file)));
    if (!emptyDown) continue;
    for (const f of m.up?.findings ?? []) {
      if (f.rule === 'missing-down') f.message = `${emptyDown.file} is ${emptyDown.message.includes('comments') ? 'only comments or whitespace' : 'empty'}: migration ${m.version} has no rollback. ${f.message}`;
    }
  }
  return report;
}

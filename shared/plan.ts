// Phase 1's plan as every transport sees it: per statement its class, the locks it takes on each
// table, whether it rewrites or scans, what it blocks; lint findings with their safe rewrites; the
// real locks a trace saw.
import { z } from 'zod';
import { setProblem } from './migrations';

/** PostgreSQL's table lock modes, weakest first (the order of the docs' table). */
export const pgLockModes = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;
export type PgLockMode = (typeof pgLockModes)[number];

/** The names the docs and DBAs use. */
export const pgLockNames: Record<PgLockMode, string> = {
  AccessShareLock: 'ACCESS SHARE',
  RowShareLock: 'ROW SHARE',
  RowExclusiveLock: 'ROW EXCLUSIVE',
  ShareUpdateExclusiveLock: 'SHARE UPDATE EXCLUSIVE',
  ShareLock: 'SHARE',
  ShareRowExclusiveLock: 'SHARE ROW EXCLUSIVE',
  ExclusiveLock: 'EXCLUSIVE',
  AccessExclusiveLock: 'ACCESS EXCLUSIVE',
};

export const statementClasses = ['backward-compatible', 'backward-incompatible', 'data-transformation', 'other'] as const;
export type StatementClass = (typeof statementClasses)[number];

/** What the application's own statements would wait for while the lock is held. */
export const blockLevels = ['nothing', 'ddl', 'writes', 'reads-and-writes'] as const;
export type BlockLevel = (typeof blockLevels)[number];

export const tableLock = z.object({ table: z.string(), lock: z.enum(pgLockModes) });
export type TableLock = z.infer<typeof tableLock>;

export const statementAnalysis = z.object({
  file: z.string(),
  line: z.number().int(),
  index: z.number().int(),
  summary: z.string(),
  /** The command as DBAs name it: "ALTER TABLE … ADD COLUMN", "CREATE INDEX CONCURRENTLY". */
  command: z.string(),
  class: z.enum(statementClasses),
  locks: z.array(tableLock),
  /** Tables whose every row is rewritten (a new relfilenode). */
  rewrites: z.array(z.string()),
  /** Tables read in full while the lock is held (a validation, an index build). */
  scans: z.array(z.string()),
  blocks: z.enum(blockLevels),
  outsideTransaction: z.boolean(),
  /** MySQL/MariaDB online DDL: the algorithm, the concurrency allowed and whether the table is rebuilt. */
  online: z.object({ algorithm: z.enum(['INSTANT', 'INPLACE', 'COPY']), lock: z.enum(['NONE', 'SHARED', 'EXCLUSIVE']), rebuild: z.boolean(), explicit: z.boolean() }).optional(),
  /** The statement could not be parsed, and why: nothing about it is guessed. */
  unparsed: z.string().optional(),
  notes: z.array(z.string()),
  /** What the statement changes, from its parse tree: { kind: 'rename-column', table, column, to }. */
  changes: z.array(z.object({ kind: z.string(), table: z.string(), column: z.string().optional(), to: z.string().optional(), type: z.string().optional() })),
  trace: z
    .object({
      locks: z.array(tableLock),
      rewrites: z.array(z.string()),
      /** Where the trace and the static answer differ, each with its explanation. */
      differences: z.array(z.string()),
      error: z.string().optional(),
    })
    .optional(),
});
export type StatementAnalysis = z.infer<typeof statementAnalysis>;

export const findingSeverities = ['error', 'warning', 'info'] as const;
export type FindingSeverity = (typeof findingSeverities)[number];

export const finding = z.object({
  rule: z.string(),
  severity: z.enum(findingSeverities),
  file: z.string(),
  line: z.number().int(),
  /** -1 for a finding about the whole file. */
  statement: z.number().int(),
  message: z.string(),
  /** Why it matters (the rule's explanation). */
  why: z.string(),
  /** The safe way: a corrected SQL snippet or a multi-step plan. */
  rewrite: z.string(),
  /** Silenced by a comment in the file, with the reason it gave. */
  silenced: z.object({ reason: z.string(), line: z.number().int() }).optional(),
});
export type Finding = z.infer<typeof finding>;

export const filePlan = z.object({
  file: z.string(),
  direction: z.enum(['up', 'down']),
  statements: z.array(statementAnalysis),
  findings: z.array(finding),
  /** The file does not parse: nothing in it was analysed. */
  parseError: z.object({ line: z.number().int(), message: z.string() }).optional(),
});
export type FilePlan = z.infer<typeof filePlan>;

export const migrationEstimate = z.object({
  line: z.number().int(),
  table: z.string(),
  operation: z.string(),
  rows: z.number().nullable(),
  bytes: z.number().nullable(),
  /** From WORKFLOW.md's guideline table. */
  time: z.string(),
  window: z.string(),
  foreignKeys: z.array(z.string()),
});
export type MigrationEstimate = z.infer<typeof migrationEstimate>;

export const strategies = ['expand-contract', 'shadow-table', 'blue-green', 'online-ddl', 'maintenance-window'] as const;
export type Strategy = (typeof strategies)[number];
export const migrationRisks = ['low', 'medium', 'high', 'critical'] as const;
export type MigrationRisk = (typeof migrationRisks)[number];
export const downtimeModes = ['zero-downtime', 'maintenance-window'] as const;
export type DowntimeMode = (typeof downtimeModes)[number];

export const strategyRecommendation = z.object({
  strategy: z.enum(strategies),
  reasons: z.array(z.string()),
  /** For expand-contract: the phases the change needs, each with its steps (SQL or a code change). */
  phases: z.array(z.object({ name: z.enum(['expand', 'dual-write', 'backfill', 'switch', 'contract']), steps: z.array(z.string()) })),
  risk: z.enum(migrationRisks),
  downtime: z.enum(downtimeModes),
});
export type StrategyRecommendation = z.infer<typeof strategyRecommendation>;

export const migrationPlan = z.object({
  version: z.number().int(),
  title: z.string(),
  up: filePlan.optional(),
  down: filePlan.optional(),
  /** The up's overall class: incompatible if any statement is, else data, else compatible. */
  class: z.enum(statementClasses),
  /** The strongest lock the up takes, and on which table. */
  strongestLock: tableLock.nullable(),
  blocks: z.enum(blockLevels),
  /** Filled from production's statistics when a production database is given. */
  estimates: z.array(migrationEstimate),
});
export type MigrationPlan = z.infer<typeof migrationPlan>;

export const planReport = z.object({
  dir: z.string(),
  engine: z.enum(['postgres', 'mysql', 'mongodb']),
  migrations: z.array(migrationPlan),
  counts: z.object({ error: z.number().int(), warning: z.number().int(), info: z.number().int(), silenced: z.number().int(), statements: z.number().int(), unparsed: z.number().int(), unparsedStatements: z.number().int() }),
  /** What reading the folder found (empty files, gaps, files that are not migrations). */
  problems: z.array(setProblem),
  traced: z.boolean(),
  estimated: z.boolean(),
  strategy: strategyRecommendation.nullable(),
  /** About the analysis as a whole (a partial scratch copy, statements not traced). */
  notes: z.array(z.string()),
});
export type PlanReport = z.infer<typeof planReport>;

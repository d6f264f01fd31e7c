// Migration sets, their state on a database, and the record of a run, as every transport sees them.
import { z } from 'zod';

export const migrationFormats = ['golang-migrate', 'up-down-suffix', 'flyway', 'migrate-mongo'] as const;
export type MigrationFormat = (typeof migrationFormats)[number];

/** How each format is named in the UI and CLI. */
export const formatLabels: Record<MigrationFormat, string> = {
  'golang-migrate': 'golang-migrate ({version}_{title}.up.sql / .down.sql)',
  'up-down-suffix': '{version}_{title}_up.sql / _down.sql',
  flyway: 'Flyway (V{version}__{description}.sql, undo U{version}__…)',
  'migrate-mongo': 'migrate-mongo ({timestamp}-{name}.js)',
};

export const setProblemCodes = [
  'MIXED_FORMATS',
  'DUPLICATE_VERSION',
  'NOT_UTF8',
  'EMPTY_FILE',
  'MISSING_UP',
  'MISSING_DOWN',
  'VERSION_GAP',
  'UNRECOGNISED_FILE',
  'BAD_VERSION',
  'NOT_RUN',
] as const;

export const setProblem = z.object({
  severity: z.enum(['error', 'warning']),
  code: z.enum(setProblemCodes),
  /** Path relative to the set's folder. */
  file: z.string().optional(),
  line: z.number().int().optional(),
  message: z.string(),
  hint: z.string(),
});
export type SetProblem = z.infer<typeof setProblem>;

export const migrationFileInfo = z.object({
  file: z.string(),
  checksum: z.string(),
  bytes: z.number().int(),
});

export const migrationInfo = z.object({
  version: z.number().int(),
  title: z.string(),
  up: migrationFileInfo.optional(),
  down: migrationFileInfo.optional(),
});
export type MigrationInfo = z.infer<typeof migrationInfo>;

export const migrationSetSummary = z.object({
  dir: z.string(),
  format: z.enum(migrationFormats).nullable(),
  formatLabel: z.string(),
  engines: z.array(z.enum(['postgres', 'mysql', 'mongodb'])),
  migrations: z.array(migrationInfo),
  problems: z.array(setProblem),
});
export type MigrationSetSummary = z.infer<typeof migrationSetSummary>;

/** Where a statement was when it failed or was applied: file (relative), 1-based line, index in the file. */
export const statementRef = z.object({
  file: z.string(),
  line: z.number().int(),
  index: z.number().int(),
  /** The first line of the statement, shortened. */
  summary: z.string(),
});
export type StatementRef = z.infer<typeof statementRef>;

/** What the database holds about a failed step, until `force` resolves it. */
export const failureRecord = z.object({
  runId: z.string(),
  version: z.number().int(),
  direction: z.enum(['up', 'down']),
  failedAt: z.string(),
  statement: statementRef.optional(),
  error: z.object({ code: z.string(), message: z.string(), sqlstate: z.string().optional() }),
  /** Statements of the failed file that took effect and stay in effect (committed). */
  applied: z.array(statementRef),
  /** Statements that were rolled back or never ran. */
  notApplied: z.array(statementRef),
  nextStep: z.string(),
});
export type FailureRecord = z.infer<typeof failureRecord>;

export const appliedInfo = z.object({
  version: z.number().int(),
  name: z.string().nullable(),
  checksum: z.string().nullable(),
  appliedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
});

export const migrationStatus = z.object({
  engine: z.enum(['postgres', 'mysql', 'mongodb']),
  /** The version in schema_migrations (golang-migrate compatible); null when none is applied. */
  version: z.number().int().nullable(),
  dirty: z.boolean(),
  failure: failureRecord.nullable(),
  applied: z.array(appliedInfo),
  pending: z.array(z.object({ version: z.number().int(), title: z.string() })),
  /** Applied files whose content changed since (line endings do not count). */
  drift: z.array(z.object({ version: z.number().int(), file: z.string(), appliedChecksum: z.string(), fileChecksum: z.string() })),
  /** Versions the database has that the folder does not. */
  unknownApplied: z.array(z.number().int()),
  flyway: z
    .object({ table: z.string(), latestVersion: z.string().nullable(), entries: z.number().int(), failed: z.array(z.object({ version: z.string().nullable(), description: z.string() })) })
    .nullable(),
});
export type MigrationStatus = z.infer<typeof migrationStatus>;

export const runStep = z.object({
  version: z.number().int(),
  title: z.string(),
  direction: z.enum(['up', 'down']),
  file: z.string(),
  statements: z.number().int(),
  durationMs: z.number(),
  lockRetries: z.number().int(),
});
export type RunStep = z.infer<typeof runStep>;

export const runResult = z.object({
  runId: z.string(),
  journalFile: z.string(),
  fromVersion: z.number().int().nullable(),
  toVersion: z.number().int().nullable(),
  steps: z.array(runStep),
  durationMs: z.number(),
  warnings: z.array(z.string()),
});
export type RunResult = z.infer<typeof runResult>;

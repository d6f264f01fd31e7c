// What a lint rule is: an id, a severity, why it matters, bad and good examples (run by the rules'
// test), and a check over one statement or one whole file. One rule per file in this folder, as
// squawk keeps them.
import type { Engine } from '../../../shared/profile';
import type { FindingSeverity } from '../../../shared/plan';
import type { Migration, MigrationFile } from '../../migrations/migration-set';
import type { PgStatement } from '../../migrations/split-postgres';
import type { MongoCall, MongoFileAnalysis } from '../mongo-analysis';
import type { MysqlAnalysis } from '../mysql-online-ddl';
import type { MysqlStatement } from '../../migrations/split-mysql';
import type { StaticAnalysis } from '../postgres-locks';

export interface StatementContext {
  engine: Extract<Engine, 'postgres'>;
  direction: 'up' | 'down';
  migration: Migration;
  file: MigrationFile;
  statements: PgStatement[];
  analyses: StaticAnalysis[];
  index: number;
  statement: PgStatement;
  analysis: StaticAnalysis;
  /** The runner will run this statement inside a transaction together with others. */
  inTransaction: boolean;
  /** Tables created earlier in the same file: new and empty, so lock and scan rules do not apply. */
  createdEarlier: Set<string>;
  /** Whether `SET lock_timeout` (or SET LOCAL) ran earlier in this file. */
  lockTimeoutSet: boolean;
}

export interface FileContext {
  engine: Extract<Engine, 'postgres'>;
  direction: 'up' | 'down';
  migration: Migration;
  file: MigrationFile;
  statements: PgStatement[];
  analyses: StaticAnalysis[];
  /** The other direction's statements and analyses, when that file exists. */
  other?: { file: MigrationFile; statements: PgStatement[]; analyses: StaticAnalysis[] };
}

/** A MySQL/MariaDB statement as the rules see it: the splitter's statement and, when
 * node-sql-parser could parse it, its online-DDL analysis. */
export interface MysqlStatementContext {
  engine: Extract<Engine, 'mysql'>;
  direction: 'up' | 'down';
  migration: Migration;
  file: MigrationFile;
  statement: MysqlStatement;
  analysis: MysqlAnalysis | null;
  createdEarlier: Set<string>;
}

export interface MysqlFileContext {
  engine: Extract<Engine, 'mysql'>;
  direction: 'up' | 'down';
  migration: Migration;
  file: MigrationFile;
  statements: MysqlStatement[];
  analyses: (MysqlAnalysis | null)[];
}

/** A driver call inside a migrate-mongo file's up or down function. */
export interface MongoCallContext {
  engine: Extract<Engine, 'mongodb'>;
  migration: Migration;
  file: MigrationFile;
  call: MongoCall;
  /** Collections the same function created before this call: new and empty. */
  createdEarlier: Set<string>;
}

export interface MongoFileContext {
  engine: Extract<Engine, 'mongodb'>;
  migration: Migration;
  file: MigrationFile;
  analysis: MongoFileAnalysis;
}

export interface RuleHit {
  message: string;
  /** The safe way: a corrected snippet or a multi-step plan. */
  rewrite: string;
  /** Defaults to the statement's line (or 1 for a file finding). */
  line?: number;
  severity?: FindingSeverity;
}

export interface Rule {
  id: string;
  title: string;
  severity: FindingSeverity;
  /** Why it matters, in a DBA's words. */
  why: string;
  engines: Engine[];
  /** Whole files that must produce a finding of this rule, and that must not: SQL (the direction is
   * 'up' unless the example starts with "-- down"), or a migrate-mongo file for MongoDB rules. */
  examples: { bad: string[]; good: string[] };
  checkStatement?(ctx: StatementContext): RuleHit[];
  checkFile?(ctx: FileContext): RuleHit[];
  checkMysqlStatement?(ctx: MysqlStatementContext): RuleHit[];
  checkMysqlFile?(ctx: MysqlFileContext): RuleHit[];
  checkMongoCall?(ctx: MongoCallContext): RuleHit[];
  checkMongoFile?(ctx: MongoFileContext): RuleHit[];
}

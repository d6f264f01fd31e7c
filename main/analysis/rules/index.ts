// Every lint rule, in the order findings are listed for a statement: what breaks running code
// first, then what holds locks or rewrites tables, then what makes the migration unsafe to run or
// to roll back.
import { backfillInSchemaMigration } from './backfill-in-schema-migration';
import { concurrentlyInTransaction } from './concurrently-in-transaction';
import { constraintWithoutNotValid } from './constraint-without-not-valid';
import { dataLossRollback } from './data-loss-rollback';
import { dropColumn } from './drop-column';
import { dropTable } from './drop-table';
import { enumChange } from './enum-change';
import { indexWithoutConcurrently } from './index-without-concurrently';
import { missingDown } from './missing-down';
import { missingLockTimeout } from './missing-lock-timeout';
import { mongoDropCollection } from './mongo-drop-collection';
import { mongoUnfilteredBulkWrite } from './mongo-unfiltered-bulk-write';
import { mongoValidatorChange } from './mongo-validator-change';
import { mysqlCopyAlgorithm } from './mysql-copy-algorithm';
import { notNullColumnWithoutDefault } from './not-null-column-without-default';
import { notNullWithoutCheck } from './not-null-without-check';
import { renameColumn } from './rename-column';
import { renameTable } from './rename-table';
import type { Rule } from './rule';
import { transactionControlInFile } from './transaction-control-in-file';
import { typeChangeRewrite } from './type-change-rewrite';
import { uniqueWithoutConcurrentIndex } from './unique-without-concurrent-index';
import { volatileDefault } from './volatile-default';
import { workAfterAccessExclusive } from './work-after-access-exclusive';

export const allRules: Rule[] = [
  dropColumn,
  dropTable,
  renameColumn,
  renameTable,
  enumChange,
  notNullColumnWithoutDefault,
  typeChangeRewrite,
  volatileDefault,
  notNullWithoutCheck,
  constraintWithoutNotValid,
  uniqueWithoutConcurrentIndex,
  indexWithoutConcurrently,
  concurrentlyInTransaction,
  missingLockTimeout,
  workAfterAccessExclusive,
  backfillInSchemaMigration,
  transactionControlInFile,
  missingDown,
  dataLossRollback,
  mysqlCopyAlgorithm,
  mongoDropCollection,
  mongoValidatorChange,
  mongoUnfilteredBulkWrite,
];

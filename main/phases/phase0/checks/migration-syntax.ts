// Phase 0, every migration file (up and down) is readable and parses: with PostgreSQL's own parser,
// or for MySQL the server's parser through PREPARE (which parses without running). A migrate-mongo
// file is JavaScript: it is loaded as the runner loads it (Node's parser, and `node --check` for the
// line of an ES module's error) and must export an up function. Every error is listed with its file
// and line, not just the first.
import { FlightdeckError } from '../../../../shared/errors';
import type { SqlSession } from '../../../connections/adapter';
import type { MigrationSet } from '../../../migrations/migration-set';
import { loadMongoMigration } from '../../../migrations/mongo-migration-file';
import { loadPostgresParser } from '../../../migrations/split-postgres';
import { mysqlUnits, postgresUnits, preflightMysql } from '../../../migrations/units';
import type { CheckDef, CheckOutcome } from '../../check';
import type { Phase0Context } from '../context';

/** "1-x.js:12:9: Unexpected token" -> "Unexpected token": the file and line have columns of their own. */
const withoutPosition = (message: string) => message.replace(/^[^:]+:\d+(?::\d+)?: /, '');

async function mongoSyntax(set: MigrationSet, errors: string[][], progress: (m: string) => void): Promise<CheckOutcome> {
  let files = 0;
  for (const m of set.migrations) {
    if (!m.up) continue;
    files++;
    progress(m.up.file);
    try {
      const l = await loadMongoMigration(m.up);
      if (!l.up) errors.push([m.up.file, '', 'exports no up function (only down)']);
    } catch (e) {
      if (!(e instanceof FlightdeckError)) throw e;
      const d = e.details as { file?: string; line?: number } | undefined;
      errors.push([d?.file ?? m.up.file, d?.line ? String(d.line) : '', withoutPosition(e.message)]);
    }
  }
  const evidence = {
    facts: [['parser', `Node ${process.versions.node}'s own: each file is loaded as the runner loads it (its top-level code runs; it should only define up and down)`], ['files', String(files)]] as [string, string][],
    tables: errors.length ? [{ title: 'Errors', columns: ['file', 'line', 'error'], rows: errors }] : [],
  };
  if (errors.length) return { status: 'fail', summary: `${errors.length} error(s) in the migration files, first: ${errors[0]![0]}${errors[0]![1] ? `:${errors[0]![1]}` : ''} ${errors[0]![2]}`, hint: 'Fix each file at the line shown.', evidence };
  return { status: 'pass', summary: `All ${files} files load and export up.`, evidence };
}

export const migrationSyntax: CheckDef<Phase0Context> = {
  id: 'migration-syntax',
  phase: 0,
  title: 'Migration files are valid and parse',
  severity: 'high',
  async run(ctx, progress) {
    if (!ctx.set) return { status: 'fail', summary: `The migration set could not be read: ${ctx.setError?.message ?? 'no folder given'}.`, hint: ctx.setError?.hint ?? 'Give the migrations folder.' };
    const errors: string[][] = ctx.set.problems.filter((p) => p.severity === 'error').map((p) => [p.file ?? '', p.line ? String(p.line) : '', p.message]);
    const mongo = ctx.production.profile.engine === 'mongodb';
    if (ctx.set.format === 'migrate-mongo' || (mongo && ctx.set.format === null)) return mongoSyntax(ctx.set, errors, progress);
    if (mongo) {
      return {
        status: 'fail',
        summary: `${ctx.set.dir} holds SQL migrations (${ctx.set.format}); MongoDB runs migrate-mongo sets ({timestamp}-{name}.js).`,
        hint: 'Point the migrations folder at the migrate-mongo files.',
      };
    }
    const session = (ctx.staging ?? ctx.production).session as SqlSession;
    if (session.engine === 'postgres') await loadPostgresParser();
    const db = session.engine === 'mysql' ? await session.pin() : null;
    let files = 0;
    let unchecked = 0;
    try {
      for (const m of ctx.set.migrations) {
        for (const file of [m.up, m.down]) {
          if (!file) continue;
          files++;
          progress(file.file);
          try {
            if (session.engine === 'postgres') postgresUnits(file, 150000);
            else unchecked += (await preflightMysql(db!, file, mysqlUnits(file))).unchecked;
          } catch (e) {
            if (!(e instanceof FlightdeckError)) throw e;
            const d = e.details as { file?: string; line?: number } | undefined;
            errors.push([d?.file ?? file.file, d?.line ? String(d.line) : '', withoutPosition(e.message)]);
          }
        }
      }
    } finally {
      db?.release(true);
    }
    const evidence = {
      facts: [['parser', session.engine === 'postgres' ? 'libpg-query (PostgreSQL 18 grammar)' : `the ${ctx.staging ? 'staging' : 'production'} server's own, through PREPARE (nothing runs)`], ['files', String(files)], ...(unchecked ? [['not checkable in advance', `${unchecked} statement(s) the server does not PREPARE`]] : [])] as [string, string][],
      tables: errors.length ? [{ title: 'Errors', columns: ['file', 'line', 'error'], rows: errors }] : [],
    };
    if (errors.length) return { status: 'fail', summary: `${errors.length} error(s) in the migration files, first: ${errors[0]![0]}${errors[0]![1] ? `:${errors[0]![1]}` : ''} ${errors[0]![2]}`, hint: 'Fix each file at the line shown.', evidence };
    return { status: 'pass', summary: `All ${files} files parse.`, evidence };
  },
};

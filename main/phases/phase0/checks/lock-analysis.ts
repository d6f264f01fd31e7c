// Phase 0, lock analysis: queries and transactions running longer than the threshold (a minute by
// default) and the table locks they hold. A migration's DDL would queue behind them, and the
// application's queries behind the DDL. On MongoDB: $currentOp, operations on the database running
// past the threshold or waiting for a lock, and transactions open past it (idle ones included: an
// idle transaction keeps its locks, and a collMod or dropIndexes waits for them).
import { BSON } from 'mongodb';
import { isMongoSession, type MongoDbSession, type SqlSession } from '../../../connections/adapter';
import { formatDuration, type CheckDef, type CheckOutcome } from '../../check';
import type { Phase0Context } from '../context';

interface MongoOp {
  type?: string;
  opid?: unknown;
  op?: string;
  ns?: string;
  desc?: string;
  appName?: string;
  client?: string;
  active?: boolean;
  waitingForLock?: boolean;
  microsecs_running?: unknown;
  command?: Record<string, unknown>;
  effectiveUsers?: { user: string; db: string }[];
  lsid?: { id?: { toString(encoding?: string): string } };
  transaction?: { timeOpenMicros?: unknown };
  locks?: Record<string, unknown>;
}

/** A command as a DBA reads it: no session plumbing, at most 200 characters. */
function commandText(c: Record<string, unknown> | undefined): string {
  if (!c) return '';
  const { lsid: _l, $clusterTime: _c, $db: _d, txnNumber: _t, autocommit: _a, startTransaction: _s, $readPreference: _r, ...rest } = c;
  let text: string;
  try {
    text = BSON.EJSON.stringify(rest, { relaxed: true });
  } catch {
    text = String(rest);
  }
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

export async function mongoLongRunning(s: MongoDbSession, ms: number): Promise<CheckOutcome> {
  const { client, db } = s.mongo();
  const dbName = db.databaseName;
  const micros = ms * 1000;
  const ops = (await client
    .db('admin')
    .aggregate([
      { $currentOp: { allUsers: true, idleSessions: true } },
      { $match: { $or: [{ microsecs_running: { $gte: micros } }, { waitingForLock: true }, { 'transaction.timeOpenMicros': { $gte: micros } }] } },
    ])
    .toArray()) as MongoOp[];
  const ours = (o: MongoOp) => (o.ns ?? '').startsWith(`${dbName}.`) || o.command?.$db === dbName;
  // Operations count only when they run in this database (other databases' work does not block its
  // DDL); an idle transaction says nothing of where it holds its locks, so it is listed wherever.
  const relevant = ops.filter((o) => ours(o) || o.type === 'idleSession');
  const long: string[][] = [];
  const locks: string[][] = [];
  for (const o of relevant) {
    const session = o.opid !== undefined && o.opid !== null ? String(o.opid) : `lsid ${o.lsid?.id?.toString('hex')?.slice(0, 12) ?? '?'}`;
    const runningMs = Number(o.microsecs_running ?? 0) / 1000;
    const openMs = Number(o.transaction?.timeOpenMicros ?? 0) / 1000;
    const state = o.type === 'idleSession' ? 'idle in transaction' : o.waitingForLock ? 'waiting for lock' : o.transaction ? 'in transaction' : 'active';
    const what = `${o.op ?? ''} ${o.ns ?? ''} ${commandText(o.command)}`.replace(/\s+/g, ' ').trim() || o.desc || '';
    long.push([session, o.effectiveUsers?.[0]?.user ?? '', o.appName ?? o.desc ?? '', state, formatDuration(Math.max(runningMs, openMs)), what]);
    for (const [resource, held] of Object.entries(o.locks ?? {})) locks.push([session, resource, String(held), o.waitingForLock ? 'waiting' : 'held']);
  }
  const evidence = {
    facts: [
      ['threshold', formatDuration(ms)],
      ['database', dbName],
      ...(relevant.some((o) => o.type === 'idleSession') ? [['idle transactions', '$currentOp does not say which database an idle transaction holds locks in: each is listed']] : []),
    ] as [string, string][],
    tables: [
      { title: `Operations and transactions older than ${formatDuration(ms)}, or waiting for a lock`, columns: ['opid', 'user', 'application', 'state', 'for', 'operation'], rows: long },
      ...(locks.length ? [{ title: 'Locks they hold or wait for (R/W exclusive, r/w intent)', columns: ['opid', 'resource', 'mode', ''], rows: locks }] : []),
    ],
  };
  if (long.length) {
    const waiting = relevant.filter((o) => o.waitingForLock).length;
    return {
      status: 'fail',
      summary: `${long.length} operation(s) or transaction(s) have run for over ${formatDuration(ms)}${waiting ? ` or wait for a lock (${waiting} waiting)` : ''}.`,
      hint: 'Wait for them to finish, or end them (db.killOp(opid); an idle transaction ends with its session, or after transactionLifetimeLimitSeconds) before the window: index builds and collMod would queue behind them.',
      evidence,
    };
  }
  return { status: 'pass', summary: `No operation or transaction older than ${formatDuration(ms)}, and none waiting for a lock.`, evidence };
}

export const lockAnalysis: CheckDef<Phase0Context> = {
  id: 'lock-analysis',
  phase: 0,
  title: 'No long-running queries or transactions holding locks',
  severity: 'high',
  async run(ctx) {
    if (isMongoSession(ctx.production.session)) return mongoLongRunning(ctx.production.session, ctx.settings.longRunningMs);
    const s = ctx.production.session as SqlSession;
    const ms = ctx.settings.longRunningMs;
    let long: string[][];
    let locks: string[][] = [];
    if (s.engine === 'postgres') {
      const r = await s.query<{ pid: number; usename: string; app: string; state: string; query_ms: number | null; xact_ms: number | null; query: string }>(
        `select pid, usename, application_name as app, state,
                extract(epoch from now() - query_start) * 1000 as query_ms, extract(epoch from now() - xact_start) * 1000 as xact_ms, left(query, 200) as query
           from pg_stat_activity
          where backend_type = 'client backend' and pid <> pg_backend_pid() and state <> 'idle'
            -- DDL and CREATE INDEX CONCURRENTLY wait only for sessions of their own database.
            and datname = current_database()
            and (query_start < now() - make_interval(secs => $1 / 1000.0) or xact_start < now() - make_interval(secs => $1 / 1000.0))
          order by least(query_start, xact_start)`,
        [ms],
      );
      long = r.map((x) => [String(x.pid), x.usename, x.app, x.state, formatDuration(Number(x.xact_ms ?? x.query_ms ?? 0)), x.query.replace(/\s+/g, ' ')]);
      if (r.length) {
        const l = await s.query<{ pid: number; rel: string; mode: string; granted: boolean }>(
          `select l.pid, l.relation::regclass::text as rel, l.mode, l.granted from pg_locks l
            where l.relation is not null and l.pid = any($1::int[])
              and l.relation not in (select oid from pg_class where relnamespace = 'pg_catalog'::regnamespace)
            order by l.pid, rel`,
          [r.map((x) => x.pid)],
        );
        locks = l.map((x) => [String(x.pid), x.rel, x.mode, x.granted ? 'held' : 'waiting']);
      }
    } else {
      const r = await s.query<{ id: number; user: string; host: string; command: string; time: number; state: string | null; info: string | null; trx_s: number | null }>(
        `SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.COMMAND AS command, p.TIME AS time, p.STATE AS state, LEFT(p.INFO, 200) AS info,
                TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS trx_s
           FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
          WHERE p.ID <> CONNECTION_ID() AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND p.DB = DATABASE()
            AND ((p.COMMAND <> 'Sleep' AND p.TIME * 1000 >= ?) OR TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) * 1000 >= ?)`,
        [ms, ms],
      );
      long = r.map((x) => [String(x.id), x.user, x.host, x.trx_s !== null ? 'in transaction' : x.command, formatDuration(Math.max(Number(x.time), Number(x.trx_s ?? 0)) * 1000), (x.info ?? '').replace(/\s+/g, ' ')]);
    }
    const evidence = {
      facts: [['threshold', formatDuration(ms)]] as [string, string][],
      tables: [
        { title: `Queries and transactions older than ${formatDuration(ms)}`, columns: ['session', 'user', s.engine === 'postgres' ? 'application' : 'host', 'state', 'for', 'query'], rows: long },
        ...(locks.length ? [{ title: 'Table locks they hold', columns: ['session', 'table', 'mode', ''], rows: locks }] : []),
      ],
    };
    if (long.length) {
      return { status: 'fail', summary: `${long.length} session(s) have run a query or transaction for over ${formatDuration(ms)}${locks.length ? `, holding ${locks.length} table lock(s)` : ''}.`, hint: 'Wait for them to finish, or end them (the Locks panel can cancel or terminate) before the window: DDL would queue behind them.', evidence };
    }
    return { status: 'pass', summary: `No query or transaction older than ${formatDuration(ms)}.`, evidence };
  },
};

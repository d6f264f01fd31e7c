// Phase 0, connection pool capacity: connections in use against what the server allows, by
// application and user, so a window never starts on a server one deploy away from refusing clients.
import type { SqlSession } from '../../../connections/adapter';
import { isMongoSession, type MongoDbSession } from '../../../connections/adapter';
import type { CheckOutcome } from '../../check';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

interface Usage {
  used: number;
  limit: number;
  reserved: number;
  byClient: string[][];
}

async function usage(s: SqlSession): Promise<Usage> {
  if (s.engine === 'postgres') {
    const r = await s.query<{ used: string; max: string; reserved: string }>(
      `select (select count(*) from pg_stat_activity where backend_type = 'client backend') as used,
              current_setting('max_connections') as max,
              current_setting('superuser_reserved_connections')::int
                + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) as reserved`,
    );
    const by = await s.query<{ app: string; usename: string; n: string; active: string; idle_tx: string }>(
      `select coalesce(nullif(application_name, ''), '(none)') as app, coalesce(usename, '') as usename, count(*) as n,
              count(*) filter (where state = 'active') as active, count(*) filter (where state like 'idle in transaction%') as idle_tx
         from pg_stat_activity where backend_type = 'client backend' group by 1, 2 order by n desc limit 15`,
    );
    return { used: Number(r[0]!.used), limit: Number(r[0]!.max), reserved: Number(r[0]!.reserved), byClient: by.map((b) => [b.app, b.usename, b.n, b.active, b.idle_tx]) };
  }
  const st = await s.query<{ Variable_name: string; Value: string }>("SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Max_used_connections')");
  const v = await s.query<{ m: string }>('SELECT @@max_connections AS m');
  const status = Object.fromEntries(st.map((x) => [x.Variable_name, Number(x.Value)]));
  const by = await s.query<{ user: string; host: string; n: string; active: string }>(
    "SELECT USER AS user, SUBSTRING_INDEX(HOST, ':', 1) AS host, COUNT(*) AS n, SUM(COMMAND <> 'Sleep') AS active FROM information_schema.PROCESSLIST GROUP BY 1, 2 ORDER BY n DESC LIMIT 15",
  );
  // MySQL keeps one extra connection for a SUPER user beyond max_connections.
  return { used: status.Threads_connected ?? 0, limit: Number(v[0]!.m), reserved: 0, byClient: by.map((b) => [b.host, b.user, String(b.n), String(b.active ?? 0), '']) };
}

export const poolHeadroom: CheckDef<Phase0Context> = {
  id: 'pool-headroom',
  phase: 0,
  title: 'Connection pool capacity sufficient',
  severity: 'high',
  async run(ctx) {
    if (isMongoSession(ctx.production.session)) return mongoPoolHeadroom(ctx.production.session, ctx.settings.poolMinFreeFraction);
    const s = ctx.production.session as SqlSession;
    const u = await usage(s);
    const usable = u.limit - u.reserved;
    const free = usable - u.used;
    const needed = Math.ceil(usable * ctx.settings.poolMinFreeFraction);
    const evidence = {
      facts: [
        ['in use', String(u.used)],
        ['server limit', `${u.limit}${u.reserved ? ` (${u.reserved} reserved for superusers)` : ''}`],
        ['free', `${free} (${((free / usable) * 100).toFixed(0)}%)`],
        ['needed free', `${needed} (${(ctx.settings.poolMinFreeFraction * 100).toFixed(0)}%)`],
      ] as [string, string][],
      tables: [{ title: 'Connections by client', columns: [s.engine === 'postgres' ? 'application' : 'host', 'user', 'connections', 'active', s.engine === 'postgres' ? 'idle in transaction' : ''], rows: u.byClient }],
    };
    if (free < needed) {
      return { status: 'fail', summary: `Only ${free} of ${usable} connections are free (${u.used} in use); the window needs at least ${needed} free.`, hint: 'Find the clients holding connections (table below), shrink their pools or put PgBouncer in front, or raise the server limit before the window.', evidence };
    }
    return { status: 'pass', summary: `${free} of ${usable} connections free (${u.used} in use).`, evidence };
  },
};

/**
 * MongoDB: serverStatus().connections, where current + available is what the server accepts
 * (net.maxIncomingConnections, bounded by the process's open-file limit), and the clients holding
 * them from $currentOp with idle connections, grouped by appName and user.
 */
export async function mongoPoolHeadroom(s: MongoDbSession, minFreeFraction: number): Promise<CheckOutcome> {
  const admin = s.mongo().client.db('admin');
  let c: { current?: number; available?: number; totalCreated?: number; active?: number };
  try {
    const status = await admin.command({ serverStatus: 1, repl: 0, metrics: 0, locks: 0, wiredTiger: 0, tcmalloc: 0 });
    c = (status.connections ?? {}) as typeof c;
  } catch (e) {
    if ((e as { codeName?: string }).codeName !== 'Unauthorized') throw e;
    return {
      status: 'fail',
      summary: `The user may not run serverStatus, so the connection headroom is unknown: ${(e as Error).message}`,
      hint: 'Grant the clusterMonitor role (serverStatus, $currentOp), in the database the user is defined in: db.getSiblingDB("<its database>").grantRolesToUser("<user>", [{ role: "clusterMonitor", db: "admin" }]).',
    };
  }
  const used = Number(c.current ?? 0);
  const usable = used + Number(c.available ?? 0);
  const free = usable - used;
  const needed = Math.ceil(usable * minFreeFraction);
  let byClient: string[][] = [];
  let clientsNote: string | null = null;
  try {
    const groups = await admin
      .aggregate<{ _id: { app: string; user: string }; n: number; active: number; tx: number }>([
        { $currentOp: { allUsers: true, idleConnections: true, idleSessions: false } },
        { $match: { client: { $exists: true } } },
        {
          $group: {
            _id: { app: { $ifNull: ['$appName', '(none)'] }, user: { $ifNull: [{ $arrayElemAt: ['$effectiveUsers.user', 0] }, ''] } },
            n: { $sum: 1 },
            active: { $sum: { $cond: [{ $eq: ['$active', true] }, 1, 0] } },
            tx: { $sum: { $cond: [{ $eq: [{ $type: '$transaction' }, 'missing'] }, 0, 1] } },
          },
        },
        { $sort: { n: -1, '_id.app': 1 } },
        { $limit: 15 },
      ])
      .toArray();
    byClient = groups.map((g) => [g._id.app, g._id.user, String(g.n), String(g.active), String(g.tx)]);
  } catch (e) {
    clientsNote = `not listed: ${(e as Error).message} (the clusterMonitor role's inprog action shows every user's connections)`;
  }
  const evidence = {
    facts: [
      ['in use', `${used}${c.active !== undefined ? ` (${c.active} active)` : ''}`],
      ['server limit', `${usable} (current + available; net.maxIncomingConnections, bounded by the open-file limit)`],
      ['free', `${free} (${usable ? ((free / usable) * 100).toFixed(0) : 0}%)`],
      ['needed free', `${needed} (${(minFreeFraction * 100).toFixed(0)}%)`],
      ...(c.totalCreated !== undefined ? [['created since start', String(c.totalCreated)]] : []),
      ...(clientsNote ? [['clients', clientsNote]] : []),
    ] as [string, string][],
    tables: [{ title: 'Connections by client', columns: ['application', 'user', 'connections', 'active', 'in transaction'], rows: byClient }],
  };
  if (free < needed) {
    return {
      status: 'fail',
      summary: `Only ${free} of ${usable} connections are free (${used} in use); the window needs at least ${needed} free.`,
      hint: 'Find the clients holding connections (table below) and lower their driver pools (maxPoolSize), or raise net.maxIncomingConnections and the open-file limit before the window.',
      evidence,
    };
  }
  return { status: 'pass', summary: `${free} of ${usable} connections free (${used} in use).`, evidence };
}

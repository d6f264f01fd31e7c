// Phase 0, connection pool capacity: connections in use against what the server allows, by
// application and user, so a window never starts on a server one deploy away from refusing clients.
import type { SqlSession } from '../../../connections/adapter';
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

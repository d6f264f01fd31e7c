// Phase 0, PgBouncer pools: when the applications reach production through PgBouncer, its admin
// console (SHOW POOLS, SHOW DATABASES, SHOW CONFIG, SHOW LISTS) says whether clients already queue
// for server connections, how many server slots each pool of the production database has left,
// and how close the pooler is to refusing clients (max_client_conn). A window must not start on a
// pooler that is already making clients wait.
import { databases, num, openConsole, pgbouncerAdminDatabase, pools, str, type Pool } from '../../../connections/pgbouncer-console';
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const seconds = (s: number) => (s >= 10 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`);

export const pgbouncerPools: CheckDef<Phase0Context> = {
  id: 'pgbouncer-pools',
  phase: 0,
  title: 'PgBouncer pools have headroom',
  severity: 'high',
  async run(ctx, progress) {
    const target = ctx.settings.pgbouncer;
    if (!target) return { status: 'skipped', summary: 'No PgBouncer admin console was given, so pooler queues were not checked.', hint: 'When the applications reach production through PgBouncer, give its admin console (--pgbouncer postgres://user@host:6432/pgbouncer, or a PgBouncer profile) so waiting clients and pool headroom are checked.' };
    if (ctx.production.profile.engine !== 'postgres') return { status: 'skipped', summary: `PgBouncer pools PostgreSQL connections; production is ${ctx.production.profile.engine}.` };
    progress('connecting to the PgBouncer admin console');
    const c = await openConsole(target);
    let poolRows: Record<string, unknown>[];
    let dbRows: Record<string, unknown>[];
    let configRows: Record<string, unknown>[];
    let listRows: Record<string, unknown>[] = [];
    let version = '';
    try {
      progress('SHOW POOLS, SHOW DATABASES, SHOW CONFIG');
      poolRows = await c.query('SHOW POOLS');
      dbRows = await c.query('SHOW DATABASES');
      configRows = await c.query('SHOW CONFIG');
      // Nice to have; a pooler that refuses these still answered what the verdict needs.
      listRows = await c.query('SHOW LISTS').catch(() => []);
      version = str((await c.query('SHOW VERSION').catch(() => []))[0]?.version);
    } finally {
      await c.close();
    }

    const config = new Map(configRows.map((r) => [str(r.key), str(r.value)]));
    const lists = new Map(listRows.map((r) => [str(r.list), num(r.items)]));
    const fraction = ctx.settings.poolMinFreeFraction;
    const prodDb = ctx.production.profile.database;
    const defaultPoolSize = num(config.get('default_pool_size') ?? 20);
    const globalMode = config.get('pool_mode') ?? 'session';
    const maxClientConn = num(config.get('max_client_conn'));

    const allPools = pools(poolRows).filter((p) => p.database !== pgbouncerAdminDatabase);
    const entries = databases(dbRows).filter((d) => d.name !== pgbouncerAdminDatabase);
    // The production database by its PgBouncer name or by the server database an entry points at.
    const prodEntries = entries.filter((d) => d.name === prodDb || d.database === prodDb);
    const prodNames = new Set([prodDb, ...prodEntries.map((d) => d.name)]);
    const prodPools = allPools.filter((p) => prodNames.has(p.database));
    const entryOf = (name: string) => entries.find((d) => d.name === name);
    const limitOf = (p: Pool) => entryOf(p.database)?.poolSize || defaultPoolSize;

    // Clients connected to the pooler, without this check's own console connection.
    const usedClients = lists.has('used_clients') ? Math.max(0, lists.get('used_clients')! - 1) : allPools.reduce((n, p) => n + p.clActive + p.clWaiting, 0);
    const clientsFree = maxClientConn - usedClients;
    const clientsNeeded = Math.ceil(maxClientConn * fraction);

    const facts: [string, string][] = [
      ['pooler', `${c.address}${version ? ` (${version})` : ''}`],
      ['production database', prodEntries.length ? prodEntries.map((d) => `${d.name} → ${d.database || d.name} on ${d.host || '(unix socket)'}:${d.port}`).join('; ') : `${prodDb}: no [databases] entry`],
      ['max_client_conn', maxClientConn ? `${maxClientConn} (${usedClients} client connection(s) in use, ${clientsFree} free, ${clientsNeeded} needed free)` : '(not reported)'],
      ['default_pool_size', String(defaultPoolSize)],
      ['pool_mode', globalMode],
      ['needed free', `${(fraction * 100).toFixed(0)}% of each pool's pool_size, and of max_client_conn`],
    ];
    for (const key of ['reserve_pool_size', 'max_db_connections', 'max_user_connections', 'query_wait_timeout'] as const) {
      const v = config.get(key);
      if (v !== undefined && v !== '0') facts.push([key, key === 'query_wait_timeout' ? `${v} s` : v]);
    }

    const columns = ['cl_active', 'cl_waiting', 'sv_active', 'sv_idle', 'sv_used', 'maxwait', 'pool_mode', 'pool_size', 'free server slots'];
    const row = (p: Pool) => [String(p.clActive), String(p.clWaiting), String(p.svActive), String(p.svIdle), String(p.svUsed), seconds(p.maxwait), p.mode, String(limitOf(p)), String(limitOf(p) - p.svActive)];
    const tables = prodPools.map((p) => ({ title: `Pool ${p.database}/${p.user}`, columns, rows: [row(p)] }));
    const others = allPools.filter((p) => !prodNames.has(p.database));
    if (others.length) tables.push({ title: 'Other pools on this PgBouncer', columns: ['database', 'user', ...columns], rows: others.map((p) => [p.database, p.user, ...row(p)]) });

    // Session features a migration relies on (advisory locks, SET, temporary tables, prepared
    // statements) do not survive transaction or statement pooling.
    const prodModes = new Set([...prodPools.map((p) => p.mode), ...prodEntries.map((d) => d.mode ?? globalMode)].filter(Boolean));
    if (!prodModes.size) prodModes.add(globalMode);
    const nonSession = [...prodModes].filter((m) => m !== 'session');
    let warning = '';
    if (nonSession.length) {
      warning = ` PgBouncer pools ${prodDb} in ${nonSession.join('/')} mode: run the migration on a direct connection to PostgreSQL, not through this pooler (advisory locks and SET are session-level).`;
      facts.push(['transaction pooling', `pool_mode=${nonSession.join('/')} for ${prodDb}: advisory locks, SET, temporary tables and prepared statements are session-level and do not survive transaction pooling; a migration must not run through this pooler — connect it to PostgreSQL directly (or through a session-mode pool).`]);
    }
    const evidence = { facts, tables };

    if (!prodEntries.length && !prodPools.length) {
      const served = [...new Set([...entries.map((d) => d.name), ...allPools.map((p) => p.database)])];
      return {
        status: 'fail',
        summary: `PgBouncer at ${c.address} has no database entry or pool for ${prodDb}${served.length ? ` (it serves ${served.join(', ')})` : ''}, so its queues for production cannot be read.`,
        hint: 'Check that the PgBouncer given is the one the applications use for this database. A database reached through the "*" fallback entry appears once a client has connected through it.',
        evidence,
      };
    }

    const problems: string[] = [];
    for (const d of prodEntries) {
      if (d.paused) problems.push(`${d.name} is paused on PgBouncer (PAUSE): its clients wait`);
      if (d.disabled) problems.push(`${d.name} is disabled on PgBouncer (DISABLE): new clients are refused`);
      if (d.maxConnections > 0) {
        const free = d.maxConnections - d.currentConnections;
        const needed = Math.ceil(d.maxConnections * fraction);
        if (free < needed) problems.push(`${d.name} has ${free} of max_db_connections ${d.maxConnections} server connections free (needs ${needed})`);
      }
    }
    for (const p of prodPools) {
      const found: string[] = [];
      if (p.clWaiting > 0 || p.maxwait > 0) found.push(`${plural(p.clWaiting, 'client')} waiting (cl_waiting ${p.clWaiting}, maxwait ${seconds(p.maxwait)})`);
      const limit = limitOf(p);
      const free = limit - p.svActive;
      const needed = Math.ceil(limit * fraction);
      if (free < needed) found.push(`${free} of ${limit} server connections free (sv_active ${p.svActive}, needs ${needed})`);
      if (found.length) problems.push(`pool ${p.database}/${p.user} has ${found.join(' and ')}`);
    }
    if (maxClientConn > 0 && clientsFree < clientsNeeded) problems.push(`${usedClients} of max_client_conn ${maxClientConn} client connections are in use (${clientsFree} free, needs ${clientsNeeded})`);

    // The migration itself going through a transaction pooler is a blocker, not only a warning.
    const p = ctx.production.profile;
    const t = target.profile;
    if (nonSession.length && p.host === t.host && p.port === t.port && JSON.stringify(p.ssh ?? null) === JSON.stringify(t.ssh ?? null)) {
      problems.push(`the production connection itself goes through this PgBouncer in ${nonSession.join('/')} mode`);
    }

    if (problems.length) {
      const first = problems[0]!;
      return {
        status: 'fail',
        summary: `${first.charAt(0).toUpperCase()}${first.slice(1)}${problems.length > 1 ? `; ${problems.slice(1).join('; ')}` : ''}.${warning}`,
        hint: 'Clients already queue (or soon will) for server connections: find who holds them (SHOW CLIENTS and SHOW SERVERS on the console, pg_stat_activity on the server), end idle-in-transaction sessions, or raise pool_size / default_pool_size (with the server\'s max_connections to match) before the window.',
        evidence,
      };
    }
    const busiest = prodPools.map((x) => `${x.database}/${x.user} ${limitOf(x) - x.svActive} of ${limitOf(x)} free`).join(', ');
    return {
      status: 'pass',
      summary: `No client waits on PgBouncer for ${prodDb}${busiest ? `; server slots: ${busiest}` : ' (no pool open yet)'}; ${usedClients} of ${maxClientConn} client connections in use.${warning}`,
      evidence,
    };
  },
};

// PostgreSQL health panels, one sample per call, read through the target's dedicated monitoring
// session. Everything here reads catalog views and statistics functions only: no user table is
// touched and no function that takes a relation lock is called, so a migration holding ACCESS
// EXCLUSIVE on a table never makes a panel wait. Flightdeck's own session (pg_backend_pid()) is left
// out of every count. Supports PostgreSQL 10 and later; newer columns are used when present.
// pg_stat_statements, whose reading costs tens of milliseconds at thousands of statements, is read
// in the gaps between samples (between()), and every sample carries the last reading.
import type { ActivityPanel, LocksPanel, PanelName, PoolPanel, ReplicationPanel, Sample, StatementsPanel } from '../../shared/monitor';
import { connectionLevelCodes, FlightdeckError } from '../../shared/errors';
import type { SqlSession } from '../connections/adapter';
import { quoteIdent } from '../connections/postgres';
import { CounterTracker, perSecond, type CounterRow } from './counter-rates';
import { forSql, type Sampler, type SamplerFactory, type SamplerOptions } from './sampler';

/** Query texts are cut here: enough to recognise a statement, small enough for 1 Hz samples. */
const queryTextChars = 2000;
/** byApplication / byUser list this many names, then one "(other)" entry for the rest. */
const topNames = 10;
/** A bound on each activity list, so a server with thousands of idle-in-transaction sessions
 * cannot make one sample megabytes large. */
const activityRowLimit = 500;
/** Server time the statements panel may spend per second of wall time. Reading
 * pg_stat_statements builds every entry's ~40 columns whatever we select (1.5–2 µs per entry), so
 * with thousands of entries it is read less often than every sample. The other panels cost about
 * 1.7 ms per sample with 200 sessions, so the sampler as a whole stays under 5 ms of server time
 * per second. */
const statementsBudgetMsPerSec = 2.5;
/** Below this much time before the next sample, no statements reading starts. */
const minBetweenBudgetMs = 30;
/** However expensive, statements are read at least this often, or the panel would be useless. */
const statementsMaxGapMs = 30_000;
/** Characters of query text kept in the cache (oldest use out first). */
const textCacheChars = 4_000_000;
/** Fetching any text reads every entry's text on the server, so when some top statements lack
 * theirs, the texts of up to this many other statements that ran in the interval come along: a
 * busy server's top list changes often, and its next members are then already known. */
const textFetchLimit = 500;
/** A counters reading cheaper than this fetches the new top statements' texts in the same gap
 * between samples; a dearer one leaves them to the next gap, so no single gap pays for both. */
const textsSameSampleMs = 10;

export const postgresSampler: SamplerFactory = forSql((session, opts) => new PostgresSampler(session, opts));

/** Every query says who sent it, so a DBA looking at pg_stat_activity or pg_stat_statements (and
 * the monitor's own cost benchmark) can tell Flightdeck's sampling apart. */
const tag = (panel: string) => `/* flightdeck/monitor: ${panel} */`;

// PostgreSQL 16 added reserved_connections (for pg_use_reserved_connections); older servers do not
// know the name, which current_setting's missing_ok turns into null. (Comments stay out of the SQL
// text, which pg_stat_activity and pg_stat_statements show.)
const poolSql = `${tag('pool')}
select current_setting('server_version_num')::int as version,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int as superuser_reserved,
       coalesce(current_setting('reserved_connections', true)::int, 0) as reserved,
       (select count(*) from pg_stat_activity
         where wait_event_type = 'Lock' and pid <> pg_backend_pid())::int as lock_waiters,
       coalesce((select json_agg(g) from (
                   select coalesce(application_name, '') as app, coalesce(usename::text, '') as usr,
                          coalesce(state, '') as state, coalesce(wait_event_type = 'Lock', false) as waiting,
                          count(*)::int as n
                     from pg_stat_activity
                    where backend_type = 'client backend' and pid <> pg_backend_pid()
                    group by 1, 2, 3, 4) g), '[]'::json) as groups`;

/** The name of the relation a pg_locks row (alias `l`) is about. A join by oid on pg_class reads
 * the catalog and takes no lock on the relation itself; the database check matters because an oid
 * from another database could name an unrelated table in this one. */
const relationNameSql = (l: string) => `case
    when ${l}.relation is null then null
    when ${l}.database = 0 or ${l}.database = (select oid from pg_database where datname = current_database())
      then coalesce((select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                      where c.oid = ${l}.relation), 'relation ' || ${l}.relation)
    else 'relation ' || ${l}.relation || ' in database '
         || coalesce((select datname from pg_database where oid = ${l}.database), ${l}.database::text)
  end`;

// pg_blocking_pids() takes the lock manager's partition locks and is costly; it runs only for
// sessions already waiting on a lock, and this whole query only when the pool query saw one. Both
// CTEs call volatile functions, so PostgreSQL evaluates each once (no MATERIALIZED keyword needed,
// which PostgreSQL 10 and 11 would not parse). Besides the awaited lock, pg_locks gives the tuple
// lock a row waiter already holds: it names the table of a row wait, whose awaited lock (the
// holder's transactionid) has no relation. waitstart (PostgreSQL 14+) is when the wait began; just
// after a wait starts it is still null, and older servers lack it: there, the statement's last
// state change is the best bound.
const locksSql = (version: number) => `${tag('locks')}
with waiting as (
  select a.pid, coalesce(a.usename::text, '') as usr, coalesce(a.application_name, '') as app,
         left(coalesce(a.query, ''), ${queryTextChars}) as query, a.state_change,
         pg_blocking_pids(a.pid) as blocked_by
    from pg_stat_activity a
   where a.wait_event_type = 'Lock' and a.pid <> pg_backend_pid()
), locks as (
  select l.pid, l.locktype, l.mode, l.granted, l.database, l.relation, l.page, l.tuple,
         l.transactionid::text as xid, l.virtualxid, l.classid, l.objid, l.objsubid,
         ${version >= 140000 ? 'l.waitstart' : 'null::timestamptz as waitstart'}
    from pg_locks l
   where l.pid in (select pid from waiting) and (not l.granted or l.locktype = 'tuple')
), waits as (
  select w.pid, w.usr, w.app, w.query, w.blocked_by,
         greatest(0, extract(epoch from now() - coalesce(l.waitstart, w.state_change)) * 1000)::float8 as wait_ms,
         l.locktype, l.mode, l.xid, l.virtualxid, l.classid::bigint as classid, l.objid::bigint as objid, l.objsubid,
         ${relationNameSql('l')} as relation,
         (select ${relationNameSql('t')} from locks t
           where t.pid = w.pid and t.granted and t.locktype = 'tuple' limit 1) as row_relation
    from waiting w
    join lateral (select * from locks x where x.pid = w.pid and not x.granted limit 1) l on true
)
select coalesce((select json_agg(waits order by wait_ms desc) from waits), '[]'::json) as waits,
       coalesce((select json_agg(json_build_object(
                   'pid', a.pid, 'usr', coalesce(a.usename::text, ''), 'app', coalesce(a.application_name, ''),
                   'state', coalesce(a.state, ''),
                   'xact_ms', extract(epoch from now() - a.xact_start)::float8 * 1000,
                   'query', left(coalesce(a.query, ''), ${queryTextChars}),
                   'waiting', coalesce(a.wait_event_type = 'Lock', false)))
                   from pg_stat_activity a
                  where a.pid in (select unnest(blocked_by) from waits)), '[]'::json) as blockers`;

// One statement for both roles: CASE evaluates only the branch that applies, so a replica never
// calls pg_current_wal_lsn() (an error during recovery) and a primary never asks for replay state.
const replicationSql = `${tag('replication')}
select r.in_recovery,
       case when r.in_recovery then '[]'::json else coalesce((
         select json_agg(json_build_object(
                  'name', coalesce(application_name, ''),
                  'address', coalesce(host(client_addr), client_hostname, 'local socket'),
                  'state', coalesce(state, ''), 'syncState', coalesce(sync_state, ''),
                  'lagBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8,
                  'lagSeconds', extract(epoch from replay_lag)::float8) order by application_name, pid)
           from pg_stat_replication), '[]'::json) end as replicas,
       coalesce((select json_agg(json_build_object(
                  'name', slot_name, 'active', active,
                  'retainedBytes', pg_wal_lsn_diff(case when r.in_recovery then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end,
                                                   restart_lsn)::float8) order by slot_name)
                   from pg_replication_slots), '[]'::json) as slots,
       case when r.in_recovery then json_build_object(
              'caughtUp', pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(),
              'lagBytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8,
              'lagSeconds', extract(epoch from now() - pg_last_xact_replay_timestamp())::float8,
              'paused', pg_is_wal_replay_paused(),
              'receiver', (select status from pg_stat_wal_receiver limit 1)) end as self
  from (select pg_is_in_recovery() as in_recovery) r`;

// One pass over client sessions collects every candidate of the three activity lists; the lists
// are told apart in code, so pg_stat_activity is read once.
const activitySql = `${tag('activity')}
select coalesce((select json_agg(s) from (
          select pid, coalesce(usename::text, '') as usr, coalesce(application_name, '') as app,
                 coalesce(state, '') as state, left(coalesce(query, ''), ${queryTextChars}) as query,
                 extract(epoch from now() - query_start)::float8 * 1000 as query_ms,
                 extract(epoch from now() - xact_start)::float8 * 1000 as xact_ms,
                 extract(epoch from now() - state_change)::float8 * 1000 as state_ms
            from pg_stat_activity
           where backend_type = 'client backend' and pid <> pg_backend_pid()
             and (state like 'idle in transaction%'
                  or (state = 'active' and query_start < now() - $1::float8 * interval '1 millisecond')
                  or xact_start < now() - $1::float8 * interval '1 millisecond')
           order by xact_start nulls last
           limit ${activityRowLimit * 3}) s), '[]'::json) as sessions,
       coalesce((select json_agg(json_build_object(
                   'datid', datid, 'reset', stats_reset::text,
                   'commits', xact_commit, 'rollbacks', xact_rollback, 'deadlocks', deadlocks, 'tempFiles', temp_files))
                   from pg_stat_database), '[]'::json) as databases`;

// shared_preload_libraries is readable by members of pg_read_all_settings (pg_monitor); others
// get no row, so null means "unknown".
const extensionSql = `${tag('statements')}
select n.nspname as schema, e.extversion as version, pg_is_in_recovery() as in_recovery, current_database() as db,
       (select setting from pg_settings where name = 'shared_preload_libraries') as preload
  from (select 1) one
  left join pg_extension e on e.extname = 'pg_stat_statements'
  left join pg_namespace n on n.oid = e.extnamespace`;

interface PoolRow {
  version: number;
  max_connections: number;
  superuser_reserved: number;
  reserved: number;
  lock_waiters: number;
  groups: { app: string; usr: string; state: string; waiting: boolean; n: number }[];
}

interface WaitJson {
  pid: number;
  usr: string;
  app: string;
  query: string;
  blocked_by: number[];
  wait_ms: number;
  locktype: string;
  mode: string;
  xid: string | null;
  virtualxid: string | null;
  classid: number | null;
  objid: number | null;
  objsubid: number | null;
  relation: string | null;
  row_relation: string | null;
}

interface BlockerJson {
  pid: number;
  usr: string;
  app: string;
  state: string;
  xact_ms: number | null;
  query: string;
  waiting: boolean;
}

interface ReplicationRow {
  in_recovery: boolean;
  replicas: { name: string; address: string; state: string; syncState: string; lagBytes: number | null; lagSeconds: number | null }[];
  slots: { name: string; active: boolean; retainedBytes: number | null }[];
  self: { caughtUp: boolean | null; lagBytes: number | null; lagSeconds: number | null; paused: boolean; receiver: string | null } | null;
}

interface SessionJson {
  pid: number;
  usr: string;
  app: string;
  state: string;
  query: string;
  query_ms: number | null;
  xact_ms: number | null;
  state_ms: number | null;
}

interface DatabaseJson {
  datid: number;
  reset: string | null;
  commits: number;
  rollbacks: number;
  deadlocks: number;
  tempFiles: number;
}

interface ExtensionInfo {
  schema: string;
  /** pg_stat_statements' SQL API version, which decides the column names. */
  version: [number, number];
}

class PostgresSampler implements Sampler {
  private inFlight: Promise<Sample> | undefined;
  /** The statements reading under way between samples (see between()). */
  private betweenRun: Promise<void> | undefined;
  private serverVersion: number | undefined;
  private readonly databaseCounters = new CounterTracker();
  private readonly statementCounters = new CounterTracker();
  private extension: ExtensionInfo | undefined;
  private statementsResetMarker: string | undefined;
  /** The last reading's outcome, repeated until the next reading is due. */
  private lastStatements: { panel: StatementsPanel } | { error: unknown } | undefined;
  private lastStatementsReadAt = 0;
  /** Running estimate of the server time one statements reading costs. */
  private statementsCostMs = 0;
  /** Server time spent on deferred text fetches, charged to the next reading's cost. */
  private deferredCostMs = 0;
  private readonly texts = new Map<string, string>();
  private textChars = 0;
  /** Top statements shown without their text yet (see textsSameSampleMs). */
  private pendingTexts: string[] = [];

  constructor(
    private readonly session: SqlSession,
    private readonly opts: SamplerOptions,
  ) {}

  sample(): Promise<Sample> {
    // Rates depend on the previous reading; two overlapping samples would corrupt them, so a call
    // made while one is running gets that one's result.
    this.inFlight ??= this.take().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Reads pg_stat_statements (or fetches texts the last reading lacked) when due and when it fits:
   * its cost grows with the statements tracked (tens of ms at 5,000), so it stays out of the
   * samples' time and the live panels never wait for it. */
  between(budgetMs: number): Promise<void> {
    this.betweenRun ??= (async () => {
      await this.inFlight?.catch(() => undefined);
      await this.refreshStatements(budgetMs).catch(() => undefined);
    })().finally(() => {
      this.betweenRun = undefined;
    });
    return this.betweenRun;
  }

  private async take(): Promise<Sample> {
    await this.betweenRun;
    const time = Date.now();
    const started = performance.now();
    const sample: Sample = { profileId: this.opts.profileId, engine: 'postgres', time, durationMs: 0, errors: [] };
    const run = async <K extends PanelName>(panel: K, read: () => Promise<NonNullable<Sample[K]>>): Promise<void> => {
      try {
        (sample as Record<K, Sample[K]>)[panel] = await read();
      } catch (e) {
        if (e instanceof FlightdeckError && connectionLevelCodes.has(e.code)) {
          // The session is gone: the next sample starts from a fresh session, and its version too.
          this.serverVersion = undefined;
          throw e;
        }
        sample.errors.push({
          panel,
          message: e instanceof Error ? e.message : String(e),
          ...(e instanceof FlightdeckError ? { hint: e.hint } : {}),
        });
      }
    };

    let lockWaiters: number | undefined;
    await run('pool', async () => {
      const { panel, lockWaiters: n } = await this.readPool();
      lockWaiters = n;
      return panel;
    });
    await run('locks', () => this.readLocks(lockWaiters));
    await run('replication', () => this.readReplication());
    await run('activity', () => this.readActivity());
    // The last reading taken between samples (none before the first one).
    const statements = this.lastStatements;
    if (statements) {
      await run('statements', async () => {
        if ('error' in statements) throw statements.error;
        return statements.panel;
      });
    }
    sample.durationMs = Math.round((performance.now() - started) * 100) / 100;
    return sample;
  }

  private async readPool(): Promise<{ panel: PoolPanel; lockWaiters: number }> {
    const row = one(await this.session.query<PoolRow & Record<string, unknown>>(poolSql), 'pool');
    this.serverVersion = row.version;
    const panel: PoolPanel = {
      total: 0, active: 0, idle: 0, idleInTransaction: 0, waiting: 0,
      max: row.max_connections,
      reserved: row.superuser_reserved + row.reserved,
      byApplication: [],
      byUser: [],
    };
    const byApp = new Map<string, number>();
    const byUser = new Map<string, number>();
    for (const g of row.groups) {
      panel.total += g.n;
      if (g.state === 'active') panel.active += g.n;
      else if (g.state === 'idle') panel.idle += g.n;
      // Includes "idle in transaction (aborted)": it holds its snapshot and locks just the same.
      else if (g.state.startsWith('idle in transaction')) panel.idleInTransaction += g.n;
      if (g.waiting) panel.waiting += g.n;
      byApp.set(g.app, (byApp.get(g.app) ?? 0) + g.n);
      byUser.set(g.usr, (byUser.get(g.usr) ?? 0) + g.n);
    }
    panel.byApplication = topCounts(byApp);
    panel.byUser = topCounts(byUser);
    return { panel, lockWaiters: row.lock_waiters };
  }

  private async readLocks(knownWaiters: number | undefined): Promise<LocksPanel> {
    // Nobody waits (the pool query just counted): skip pg_locks, which the lock manager pays for.
    if (knownWaiters === 0) return { waiting: 0, waits: [], blockers: [] };
    const version = this.serverVersion ?? (await this.readVersion());
    const row = one(await this.session.query<{ waits: WaitJson[]; blockers: BlockerJson[] }>(locksSql(version)), 'locks');
    const waits: LocksPanel['waits'] = row.waits.map((w) => ({
      pid: w.pid,
      blockedBy: w.blocked_by,
      mode: w.mode,
      relation: w.relation ?? w.row_relation ?? lockObject(w),
      lockType: w.locktype,
      waitMs: round(w.wait_ms),
      user: w.usr,
      application: w.app,
      query: w.query,
    }));
    const seen = new Map(row.blockers.map((b) => [b.pid, b]));
    const blockers: LocksPanel['blockers'] = [];
    for (const pid of new Set(waits.flatMap((w) => w.blockedBy))) {
      const b = seen.get(pid);
      if (b) {
        blockers.push({ pid, user: b.usr, application: b.app, state: b.state, xactMs: b.xact_ms === null ? null : round(Math.max(0, b.xact_ms)), query: b.query, waiting: b.waiting });
      } else if (pid === 0) {
        // pg_blocking_pids() reports a prepared transaction's locks as pid 0; no session owns them.
        blockers.push({ pid, user: '', application: '', state: 'prepared transaction', xactMs: null, query: 'a prepared transaction (see pg_prepared_xacts; COMMIT PREPARED or ROLLBACK PREPARED ends it)', waiting: false });
      } else {
        // The blocker ended between the two reads; the next sample will show the wait gone.
        blockers.push({ pid, user: '', application: '', state: 'ended', xactMs: null, query: '', waiting: false });
      }
    }
    return { waiting: waits.length, waits, blockers };
  }

  private async readVersion(): Promise<number> {
    const row = one(await this.session.query<{ version: number }>(`${tag('version')} select current_setting('server_version_num')::int as version`), 'version');
    this.serverVersion = row.version;
    return row.version;
  }

  private async readReplication(): Promise<ReplicationPanel> {
    const row = one(await this.session.query<ReplicationRow & Record<string, unknown>>(replicationSql), 'replication');
    const replicas: ReplicationPanel['replicas'] = row.replicas.map((r) => {
      const lagBytes = r.lagBytes === null ? null : Math.max(0, r.lagBytes);
      return {
        name: r.name,
        address: r.address,
        state: r.state,
        lagBytes,
        // replay_lag turns null once a replica has replayed everything and the primary is idle:
        // that is no lag, not an unknown one.
        lagSeconds: r.lagSeconds ?? (lagBytes === 0 ? 0 : null),
        syncState: r.syncState,
      };
    });
    const slots = row.slots.map((s) => ({ name: s.name, active: s.active, retainedBytes: s.retainedBytes === null ? null : Math.max(0, s.retainedBytes) }));
    if (row.in_recovery && row.self) {
      const s = row.self;
      return {
        role: 'replica',
        replicas,
        slots,
        self: {
          // The last replayed commit's timestamp stops moving when the primary is idle, so
          // "now - that" grows without any lag; with everything received already replayed the
          // replica is current.
          lagSeconds: s.caughtUp ? 0 : s.lagSeconds === null ? null : Math.max(0, s.lagSeconds),
          lagBytes: s.lagBytes === null ? null : Math.max(0, s.lagBytes),
          replayPaused: s.paused,
          // No WAL receiver: the replica restores from an archive or has lost its primary.
          state: s.receiver ?? 'not streaming',
        },
      };
    }
    return { role: replicas.length || slots.length ? 'primary' : 'standalone', replicas, slots };
  }

  private async readActivity(): Promise<ActivityPanel> {
    const threshold = this.opts.longRunningMs;
    const readAt = Date.now();
    const row = one(await this.session.query<{ sessions: SessionJson[]; databases: DatabaseJson[] }>(activitySql, [threshold]), 'activity');
    const toRow = (s: SessionJson, ms: number | null) => ({ pid: s.pid, user: s.usr, application: s.app, state: s.state, durationMs: round(Math.max(0, ms ?? 0)), query: s.query });
    const byDuration = <T extends { durationMs: number }>(rows: T[]) => rows.sort((a, b) => b.durationMs - a.durationMs).slice(0, activityRowLimit);
    const longRunning = byDuration(row.sessions.filter((s) => s.state === 'active' && (s.query_ms ?? 0) > threshold).map((s) => toRow(s, s.query_ms)));
    const longTransactions = byDuration(row.sessions.filter((s) => (s.xact_ms ?? 0) > threshold).map((s) => toRow(s, s.xact_ms)));
    // For a session idle in a transaction, what matters is how long it has sat idle holding its
    // locks and snapshot (what idle_in_transaction_session_timeout measures); its transaction's
    // age is in longTransactions.
    const idleInTransaction = byDuration(row.sessions.filter((s) => s.state.startsWith('idle in transaction')).map((s) => toRow(s, s.state_ms)));

    const interval = this.databaseCounters.update(
      readAt,
      row.databases.map((d) => ({ key: String(d.datid), generation: d.reset ?? '', values: [Number(d.commits), Number(d.rollbacks), Number(d.deadlocks), Number(d.tempFiles)] })),
    );
    const sums = [0, 0, 0, 0];
    for (const delta of interval?.deltas.values() ?? []) delta.forEach((d, i) => (sums[i]! += d));
    const rate = (i: number) => (interval ? round(perSecond(sums[i]!, interval.elapsedMs)) : null);
    return {
      longRunning,
      longTransactions,
      idleInTransaction,
      thresholdMs: threshold,
      commitsPerSec: rate(0),
      rollbacksPerSec: rate(1),
      deadlocksPerSec: rate(2),
      tempFilesPerSec: rate(3),
    };
  }

  private async refreshStatements(budgetMs: number): Promise<void> {
    const now = Date.now();
    const last = this.lastStatements;
    // Between readings the last outcome stands (see statementsBudgetMsPerSec): its readAt says how
    // old it is. A missing extension is looked up again every statementsMaxGapMs, since enabling it
    // takes a restart or a CREATE EXTENSION; a failed reading is retried after as long as it took.
    const gapMs = last && 'panel' in last && !last.panel.available ? statementsMaxGapMs : Math.min(statementsMaxGapMs, (this.statementsCostMs * 1000) / statementsBudgetMsPerSec);
    // A reading that would not end before the next sample waits for a wider gap.
    if (budgetMs < Math.max(minBetweenBudgetMs, this.statementsCostMs * 2)) return;
    if (last && now - this.lastStatementsReadAt < gapMs) {
      if ('error' in last) return;
      if (this.pendingTexts.length > 0 && this.extension) {
        // Taken off the list first: a failing fetch is not retried every sample.
        const ids = this.pendingTexts;
        this.pendingTexts = [];
        const t = performance.now();
        await this.fetchTexts(quoteIdent(this.extension.schema), ids);
        this.deferredCostMs += performance.now() - t;
        last.panel = { ...last.panel, top: last.panel.top.map((r) => ({ ...r, query: r.query || this.text(r.id) })) };
      }
      return;
    }

    const started = performance.now();
    try {
      const unavailable = this.extension ? undefined : await this.findExtension();
      const panel = unavailable ?? (await this.readStatementCounters(this.extension!));
      if (unavailable) this.statementCounters.clear();
      this.lastStatements = { panel };
      this.lastStatementsReadAt = now;
    } catch (e) {
      if (e instanceof FlightdeckError && connectionLevelCodes.has(e.code)) {
        this.lastStatements = undefined;
        throw e;
      }
      // The extension may have been dropped, updated or unloaded: look it up again next time.
      this.extension = undefined;
      this.statementCounters.clear();
      this.lastStatementsReadAt = now;
      this.statementsCostMs = Math.max(this.statementsCostMs, performance.now() - started);
      if (e instanceof FlightdeckError && e.details?.driverCode === '55000' && /shared_preload_libraries/.test(String(e.details.driverMessage ?? e.message))) {
        this.lastStatements = { panel: { available: false, hint: preloadHint(), top: [], tracked: 0 } };
        return;
      }
      this.lastStatements = { error: e };
    }
  }

  /** Looks up the extension in this database; returns the unavailable panel when it is missing. */
  private async findExtension(): Promise<StatementsPanel | undefined> {
    const row = one(await this.session.query<{ schema: string | null; version: string | null; in_recovery: boolean; db: string; preload: string | null }>(extensionSql), 'statements');
    if (row.schema && row.version) {
      const [major = 0, minor = 0] = row.version.split('.').map(Number);
      this.extension = { schema: row.schema, version: [major, minor] };
      return undefined;
    }
    const loaded = row.preload === null ? undefined : row.preload.split(',').some((l) => l.trim().replace(/^"|"$/g, '') === 'pg_stat_statements');
    const where = row.in_recovery ? ' on the primary (a replica receives it through replication)' : '';
    const create = `run CREATE EXTENSION pg_stat_statements; as a superuser in database "${row.db}"${where}`;
    const hint = loaded === true ? `pg_stat_statements is loaded but not created in database "${row.db}": ${create}.` : `${preloadHint()} Then ${create}.`;
    return { available: false, hint, top: [], tracked: 0 };
  }

  private async readStatementCounters(ext: ExtensionInfo): Promise<StatementsPanel> {
    const schema = quoteIdent(ext.schema);
    const atLeast = (major: number, minor: number) => ext.version[0] > major || (ext.version[0] === major && ext.version[1] >= minor);
    // The cost counted against the budget is wall time minus one round trip: the server builds
    // and sends the rows in that time (the client parses them meanwhile, so it errs on the high
    // side), while over a long link the round trip itself is not the server's work.
    let roundTripMs = 0;
    // A reset of all statistics (pg_stat_statements_reset()) shows in pg_stat_statements_info
    // (1.9+); every entry then counts as new. Older versions rely on counters going down.
    if (atLeast(1, 9)) {
      const t = performance.now();
      const info = one(await this.session.query<{ reset: string | null }>(`${tag('statements')} select stats_reset::text as reset from ${schema}.pg_stat_statements_info`), 'statements');
      roundTripMs = performance.now() - t;
      this.statementsResetMarker = info.reset ?? '';
    }
    const readAt = Date.now();
    const t = performance.now();
    // showtext => false: the texts live in a file that would be read whole for every call; they
    // are fetched below only for the few statements shown, and cached. Each entry comes back as
    // two text fields, its identity and its counters: the server spends the same time as on
    // separate columns (measured), the client decodes two fields instead of seven, and the
    // tracker skips the many entries whose counters text did not change without parsing them.
    // Statements of other users have a null queryid unless we may read all statistics; they count
    // as tracked but cannot be told apart.
    const entries = await this.session.query<{ k: string | null; v: string }>(`${tag('statements')}
      select case when s.queryid is not null
                  then concat_ws(' ', s.queryid, s.userid, s.dbid, ${atLeast(1, 9) ? 's.toplevel::int' : "'-'"}) end as k,
             concat_ws(' ', s.calls, ${atLeast(1, 8) ? 's.total_exec_time + s.total_plan_time' : 's.total_time'}, s.rows) as v
        from ${schema}.pg_stat_statements(false) s`);
    let costMs = Math.max(0, performance.now() - t - roundTripMs);

    const generation = this.statementsResetMarker;
    const rows: CounterRow[] = [];
    // "queryid userid dbid toplevel" is an entry's identity (toplevel: with
    // pg_stat_statements.track = all a statement has an entry per nesting level).
    for (const e of entries) if (e.k !== null) rows.push({ key: e.k, values: e.v, generation });
    const interval = this.statementCounters.update(readAt, rows);

    let top: StatementsPanel['top'] = [];
    if (interval) {
      // One row per statement: the same queryid run by several users or at several nesting levels
      // is one statement to the DBA (and to a baseline keyed by statement id).
      const byId = new Map<string, [number, number, number]>();
      for (const [key, [calls = 0, ms = 0, n = 0]] of interval.deltas) {
        const id = key.slice(0, key.indexOf(' '));
        const sum = byId.get(id) ?? [0, 0, 0];
        byId.set(id, [sum[0] + calls, sum[1] + ms, sum[2] + n]);
      }
      const ranked = [...byId].sort((a, b) => b[1][1] - a[1][1] || b[1][0] - a[1][0]);
      const chosen = ranked.slice(0, this.opts.topStatements);
      let missing = chosen.map(([id]) => id).filter((id) => !this.texts.has(id));
      if (missing.length > 0) {
        const more = ranked.slice(this.opts.topStatements).map(([id]) => id).filter((id) => !this.texts.has(id));
        missing = [...missing, ...more].slice(0, Math.max(missing.length, textFetchLimit));
      }
      this.pendingTexts = [];
      if (missing.length > 0 && costMs < textsSameSampleMs) {
        const t2 = performance.now();
        await this.fetchTexts(schema, missing);
        costMs += Math.max(0, performance.now() - t2 - roundTripMs);
      } else {
        this.pendingTexts = missing;
      }
      top = chosen.map(([id, [calls, ms, n]]) => ({
        id,
        query: this.text(id),
        callsPerSec: round(perSecond(calls, interval.elapsedMs), 4),
        totalMsPerSec: round(perSecond(ms, interval.elapsedMs), 4),
        meanMs: calls > 0 ? round(ms / calls, 4) : null,
        rowsPerSec: round(perSecond(n, interval.elapsedMs), 4),
        baselineMeanMs: this.opts.baseline?.get(id) ?? null,
      }));
    }
    // Smoothed, so one slow reading (a text fetch, a busy moment) does not stall the panel.
    costMs += this.deferredCostMs;
    this.deferredCostMs = 0;
    this.statementsCostMs = this.statementsCostMs === 0 ? costMs : (this.statementsCostMs + costMs) / 2;
    return { available: true, top, tracked: entries.length, readAt, intervalMs: interval?.elapsedMs ?? null };
  }

  /** A statement's cached text ('' until fetched), marked as recently used. */
  private text(id: string): string {
    const t = this.texts.get(id);
    if (t === undefined) return '';
    // A Map iterates in insertion order: re-inserting keeps the texts in use away from eviction.
    this.texts.delete(id);
    this.texts.set(id, t);
    return t;
  }

  /** Reads the texts of the given statements into the cache. The server reads its whole text file
   * and builds every entry whatever the filter, which is why this runs only when a top statement
   * lacks its text. The ids join as a hashed set, not one array scan per entry. */
  private async fetchTexts(schema: string, ids: string[]): Promise<void> {
    const rows = await this.session.query<{ id: string; query: string }>(`${tag('statements')}
      select distinct on (s.queryid) s.queryid::text as id, left(coalesce(s.query, ''), ${queryTextChars}) as query
        from ${schema}.pg_stat_statements(true) s
        join (select distinct unnest($1::bigint[]) as id) wanted on wanted.id = s.queryid`, [ids]);
    for (const r of rows) {
      const old = this.texts.get(r.id);
      if (old !== undefined) this.textChars -= old.length;
      this.texts.delete(r.id);
      this.texts.set(r.id, r.query);
      this.textChars += r.query.length;
    }
    for (const [id, t] of this.texts) {
      if (this.textChars <= textCacheChars) break;
      this.texts.delete(id);
      this.textChars -= t.length;
    }
  }
}

function preloadHint(): string {
  return "pg_stat_statements must be loaded at server start: add it to shared_preload_libraries (e.g. ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', keeping any libraries already listed there) and restart PostgreSQL.";
}

/** What a lock without a relation is on, e.g. "transactionid 1234" for a row wait. */
function lockObject(w: WaitJson): string {
  switch (w.locktype) {
    case 'transactionid':
      return `transactionid ${w.xid ?? ''}`.trim();
    case 'virtualxid':
      return `virtualxid ${w.virtualxid ?? ''}`.trim();
    case 'advisory':
      // pg_advisory_lock(bigint) splits its key over classid (high half) and objid (low half) with
      // objsubid 1; the two-int4 form keeps them apart with objsubid 2.
      if (w.objsubid === 1 && w.classid !== null && w.objid !== null) return `advisory ${BigInt.asIntN(64, (BigInt(w.classid) << 32n) | BigInt(w.objid))}`;
      return `advisory (${w.classid ?? ''}, ${w.objid ?? ''})`;
    case 'object':
      return `object ${w.classid ?? ''}/${w.objid ?? ''}`;
    default:
      return w.locktype;
  }
}

function topCounts(counts: Map<string, number>): { name: string; count: number }[] {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = sorted.slice(0, topNames).map(([name, count]) => ({ name: name || '(none)', count }));
  const rest = sorted.slice(topNames).reduce((sum, [, n]) => sum + n, 0);
  return rest > 0 ? [...shown, { name: '(other)', count: rest }] : shown;
}

function one<T>(rows: T[], panel: string): T {
  const row = rows[0];
  if (!row) throw new FlightdeckError('QUERY_FAILED', `The ${panel} query returned no row.`, 'This is a bug in Flightdeck; the log has the details.');
  return row;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

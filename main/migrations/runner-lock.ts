// One runner per database: a session-level advisory lock (PostgreSQL) or named lock (MySQL) with
// the same key golang-migrate uses, so Flightdeck and golang-migrate also exclude each other. The
// wait is bounded; when it runs out the error names the session holding the lock.
import { crc32 } from 'node:zlib';
import type { Engine } from '../../shared/profile';
import { FlightdeckError } from '../../shared/errors';
import type { PinnedSql } from '../connections/adapter';

/** golang-migrate's advisory lock salt (database/util.go). */
const advisoryLockSalt = 1486364155;

/** golang-migrate's GenerateAdvisoryLockId: crc32 of the names joined by NUL, times the salt, in 32 bits. */
export function advisoryLockId(names: string[]): number {
  const sum = crc32(Buffer.from(names.join('\x00'), 'utf8'));
  return Number((BigInt(sum) * BigInt(advisoryLockSalt)) & 0xffffffffn);
}

export interface LockHolder {
  processId: number;
  application?: string;
  user?: string;
  client?: string;
  since?: string;
  state?: string;
  query?: string;
}

export function describeHolder(h: LockHolder): string {
  const parts = [`session ${h.processId}`];
  if (h.application) parts.push(`application "${h.application}"`);
  if (h.user) parts.push(`user ${h.user}`);
  if (h.client) parts.push(`from ${h.client}`);
  if (h.since) parts.push(`connected since ${h.since}`);
  if (h.state) parts.push(`state ${h.state}`);
  return parts.join(', ');
}

export class RunnerLock {
  private held = false;
  private constructor(
    private readonly engine: Extract<Engine, 'postgres' | 'mysql'>,
    private readonly db: PinnedSql,
    readonly key: number,
    readonly name: string,
  ) {}

  static async for(engine: Extract<Engine, 'postgres' | 'mysql'>, db: PinnedSql): Promise<RunnerLock> {
    if (engine === 'postgres') {
      const r = await db.query<{ db: string; schema: string }>('select current_database() as db, current_schema() as schema');
      // postgres/postgres.go: GenerateAdvisoryLockId(DatabaseName, migrationsSchemaName, migrationsTableName)
      const names = [r[0]!.schema, 'schema_migrations', r[0]!.db];
      return new RunnerLock(engine, db, advisoryLockId(names), names.join('.'));
    }
    const r = await db.query<{ db: string }>('SELECT DATABASE() AS db');
    // mysql/mysql.go: GenerateAdvisoryLockId(fmt.Sprintf("%s:%s", DatabaseName, MigrationsTable))
    const key = advisoryLockId([`${r[0]!.db}:schema_migrations`]);
    return new RunnerLock(engine, db, key, String(key));
  }

  /** Waits up to waitMs, telling onWait who holds the lock once a second; then RUNNER_LOCKED. */
  async acquire(waitMs: number, onWait?: (holder: LockHolder | null, waitedMs: number) => void): Promise<void> {
    const started = Date.now();
    let lastReport = 0;
    for (;;) {
      if (await this.tryOnce()) {
        this.held = true;
        return;
      }
      const waited = Date.now() - started;
      if (waited >= waitMs) {
        const holder = await this.holder().catch(() => null);
        throw new FlightdeckError(
          'RUNNER_LOCKED',
          `Another migration runner holds the lock on this database (${holder ? describeHolder(holder) : 'holder not visible to this user'}); waited ${(waited / 1000).toFixed(1)} s.`,
          'Wait for that run to finish, or, if it is stuck, end its session (it holds the lock only while connected). Then run again.',
          { holder, waitedMs: waited },
        );
      }
      if (onWait && waited - lastReport >= 1000) {
        lastReport = waited;
        onWait(await this.holder().catch(() => null), waited);
      }
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, waitMs - waited))));
    }
  }

  private async tryOnce(): Promise<boolean> {
    if (this.engine === 'postgres') {
      const r = await this.db.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [this.key]);
      return r[0]?.ok === true;
    }
    const r = await this.db.query<{ ok: number | null }>('SELECT GET_LOCK(?, 0) AS ok', [this.name]);
    return Number(r[0]?.ok) === 1;
  }

  async holder(): Promise<LockHolder | null> {
    if (this.engine === 'postgres') {
      // The one-argument (bigint) form keeps the key's high half in classid, low half in objid.
      const r = await this.db.query<{ pid: number; application_name: string; usename: string; client_addr: string | null; backend_start: Date; state: string; query: string }>(
        `select a.pid, a.application_name, a.usename, a.client_addr::text, a.backend_start, a.state, a.query
           from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and l.classid::bigint = ($1::bigint >> 32) and l.objid::bigint = ($1::bigint & 4294967295)
            and l.database = (select oid from pg_database where datname = current_database())`,
        [this.key],
      );
      const h = r[0];
      if (!h) return null;
      return { processId: h.pid, application: h.application_name || undefined, user: h.usename, client: h.client_addr ?? 'local socket', since: new Date(h.backend_start).toISOString(), state: h.state, query: h.query };
    }
    const r = await this.db.query<{ id: number | null }>('SELECT IS_USED_LOCK(?) AS id', [this.name]);
    const id = r[0]?.id;
    if (id == null) return null;
    const p = await this.db.query<{ USER: string; HOST: string; COMMAND: string; TIME: number; STATE: string | null; INFO: string | null }>('SELECT USER, HOST, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST WHERE ID = ?', [id]);
    const h = p[0];
    return { processId: Number(id), ...(h ? { user: h.USER, client: h.HOST, state: `${h.COMMAND} for ${h.TIME} s`, query: h.INFO ?? undefined } : {}) };
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    if (this.engine === 'postgres') await this.db.query('select pg_advisory_unlock($1)', [this.key]);
    else await this.db.query('SELECT RELEASE_LOCK(?)', [this.name]);
  }
}

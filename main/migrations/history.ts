// What a database records about its migrations, in three tables beside the application's own:
//   schema_migrations              golang-migrate's table, kept exactly as golang-migrate keeps it
//                                  (one row: the current version and whether it is dirty), so a
//                                  team can switch between the two tools in either direction;
//   flightdeck_migrations          one row per applied version: file, checksum, when, how long, who;
//   flightdeck_migration_steps     one row per step a run started: its progress (statements in
//                                  effect), committed together with the statements themselves, and
//                                  on failure the full record. A step still 'running' after a crash
//                                  says exactly how far it got.
// A Flyway flyway_schema_history, when present, is read and reported, never written.
import type { Engine } from '../../shared/profile';
import type { FailureRecord } from '../../shared/migrations';
import type { PinnedSql, Row } from '../connections/adapter';

/** golang-migrate's "no version", written with dirty = true when a step towards version 0 fails. */
export const nilVersion = -1;

export interface StepRow {
  id: number;
  runId: string;
  version: number;
  direction: 'up' | 'down';
  file: string;
  status: 'running' | 'done' | 'failed' | 'rolled-back' | 'forced';
  statementsApplied: number;
  startedAt: string;
  record: FailureRecord | null;
}

export interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  appliedAt: string;
  durationMs: number;
}

export interface FlywayState {
  table: string;
  latestVersion: string | null;
  entries: number;
  failed: { version: string | null; description: string }[];
}

export class MigrationHistory {
  constructor(
    private readonly engine: Extract<Engine, 'postgres' | 'mysql'>,
    private readonly db: PinnedSql,
  ) {}

  /** `?` placeholders, turned into `$n` for PostgreSQL. */
  private q<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.engine === 'postgres') {
      let n = 0;
      sql = sql.replace(/\?/g, () => `$${++n}`);
    }
    return this.db.query<T>(sql, params);
  }

  private get json(): string {
    return this.engine === 'postgres' ? 'jsonb' : 'longtext';
  }

  async tableExists(name: string): Promise<boolean> {
    const rows =
      this.engine === 'postgres'
        ? await this.q<{ ok: boolean }>(`select to_regclass(quote_ident(current_schema()) || '.' || quote_ident(?)) is not null as ok`, [name])
        : await this.q<{ ok: number }>('SELECT COUNT(*) AS ok FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [name]);
    return Boolean(Number(rows[0]?.ok));
  }

  async ensure(): Promise<void> {
    const pg = this.engine === 'postgres';
    const tail = pg ? '' : ' ENGINE=InnoDB';
    const ts = pg ? 'timestamptz' : 'TIMESTAMP(3)';
    const now = pg ? 'now()' : 'CURRENT_TIMESTAMP(3)';
    const text = pg ? 'text' : 'VARCHAR(512)';
    await this.q(`CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)${tail}`);
    await this.q(`CREATE TABLE IF NOT EXISTS flightdeck_migrations (
      version bigint NOT NULL PRIMARY KEY, name ${text} NOT NULL, checksum ${pg ? 'text' : 'CHAR(64)'} NOT NULL,
      applied_at ${ts} NOT NULL DEFAULT ${now}, duration_ms integer NOT NULL, applied_by ${text} NOT NULL, run_id ${text} NOT NULL)${tail}`);
    await this.q(`CREATE TABLE IF NOT EXISTS flightdeck_migration_steps (
      id ${pg ? 'bigint GENERATED ALWAYS AS IDENTITY' : 'BIGINT NOT NULL AUTO_INCREMENT'} PRIMARY KEY, run_id ${text} NOT NULL,
      version bigint NOT NULL, direction ${pg ? 'text' : 'VARCHAR(4)'} NOT NULL, file ${text} NOT NULL,
      status ${pg ? 'text' : 'VARCHAR(16)'} NOT NULL, statements_applied integer NOT NULL DEFAULT 0,
      started_at ${ts} NOT NULL DEFAULT ${now}, finished_at ${ts} NULL, record ${this.json} NULL)${tail}`);
  }

  async version(): Promise<{ version: number | null; dirty: boolean }> {
    if (!(await this.tableExists('schema_migrations'))) return { version: null, dirty: false };
    const rows = await this.q<{ version: string | number; dirty: boolean | number }>('SELECT version, dirty FROM schema_migrations LIMIT 1');
    const r = rows[0];
    if (!r) return { version: null, dirty: false };
    const v = Number(r.version);
    return { version: v === nilVersion ? null : v, dirty: Boolean(Number(r.dirty)) };
  }

  /** golang-migrate's SetVersion: the table holds one row, or none for "no version". */
  async setVersion(version: number | null, dirty: boolean): Promise<void> {
    await this.q('DELETE FROM schema_migrations');
    if (version !== null || dirty) await this.q('INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)', [version ?? nilVersion, dirty]);
  }

  async applied(): Promise<AppliedRow[]> {
    if (!(await this.tableExists('flightdeck_migrations'))) return [];
    const rows = await this.q<{ version: string; name: string; checksum: string; applied_at: string | Date; duration_ms: number }>('SELECT version, name, checksum, applied_at, duration_ms FROM flightdeck_migrations ORDER BY version');
    return rows.map((r) => ({ version: Number(r.version), name: r.name, checksum: r.checksum, appliedAt: new Date(r.applied_at).toISOString(), durationMs: Number(r.duration_ms) }));
  }

  async recordApplied(a: { version: number; name: string; checksum: string; durationMs: number; appliedBy: string; runId: string }): Promise<void> {
    await this.q('DELETE FROM flightdeck_migrations WHERE version = ?', [a.version]);
    await this.q('INSERT INTO flightdeck_migrations (version, name, checksum, duration_ms, applied_by, run_id) VALUES (?, ?, ?, ?, ?, ?)', [a.version, a.name, a.checksum, Math.round(a.durationMs), a.appliedBy, a.runId]);
  }

  async removeApplied(version: number): Promise<void> {
    await this.q('DELETE FROM flightdeck_migrations WHERE version = ?', [version]);
  }

  async removeAppliedAbove(version: number | null): Promise<void> {
    await this.q('DELETE FROM flightdeck_migrations WHERE version > ?', [version ?? nilVersion]);
  }

  async startStep(s: { runId: string; version: number; direction: 'up' | 'down'; file: string }): Promise<number> {
    if (this.engine === 'postgres') {
      const rows = await this.q<{ id: string }>("INSERT INTO flightdeck_migration_steps (run_id, version, direction, file, status) VALUES (?, ?, ?, ?, 'running') RETURNING id", [s.runId, s.version, s.direction, s.file]);
      return Number(rows[0]!.id);
    }
    await this.q("INSERT INTO flightdeck_migration_steps (run_id, version, direction, file, status) VALUES (?, ?, ?, ?, 'running')", [s.runId, s.version, s.direction, s.file]);
    const rows = await this.q<{ id: string }>('SELECT LAST_INSERT_ID() AS id');
    return Number(rows[0]!.id);
  }

  async stepProgress(id: number, statementsApplied: number): Promise<void> {
    await this.q('UPDATE flightdeck_migration_steps SET statements_applied = ? WHERE id = ?', [statementsApplied, id]);
  }

  async finishStep(id: number, status: StepRow['status'], record: FailureRecord | null, statementsApplied?: number): Promise<void> {
    const now = this.engine === 'postgres' ? 'now()' : 'CURRENT_TIMESTAMP(3)';
    await this.q(
      `UPDATE flightdeck_migration_steps SET status = ?, finished_at = ${now}, record = ?${statementsApplied === undefined ? '' : ', statements_applied = ?'} WHERE id = ?`,
      [status, record ? JSON.stringify(record) : null, ...(statementsApplied === undefined ? [] : [statementsApplied]), id],
    );
  }

  /** A step that failed or never finished and that no later step or force has settled. */
  async openStep(): Promise<StepRow | null> {
    if (!(await this.tableExists('flightdeck_migration_steps'))) return null;
    const rows = await this.q<{ id: string; run_id: string; version: string; direction: 'up' | 'down'; file: string; status: StepRow['status']; statements_applied: number; started_at: string | Date; record: unknown }>(
      "SELECT id, run_id, version, direction, file, status, statements_applied, started_at, record FROM flightdeck_migration_steps WHERE status IN ('running', 'failed') ORDER BY id DESC LIMIT 1",
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: Number(r.id),
      runId: r.run_id,
      version: Number(r.version),
      direction: r.direction,
      file: r.file,
      status: r.status,
      statementsApplied: Number(r.statements_applied),
      startedAt: new Date(r.started_at).toISOString(),
      record: r.record == null ? null : ((typeof r.record === 'string' ? JSON.parse(r.record) : r.record) as FailureRecord),
    };
  }

  /** Marks every open step as settled by `force`, keeping their records. */
  async settleOpenSteps(resolution: 'forced' | 'done'): Promise<number> {
    if (!(await this.tableExists('flightdeck_migration_steps'))) return 0;
    const open = await this.q<{ n: string | number }>("SELECT COUNT(*) AS n FROM flightdeck_migration_steps WHERE status IN ('running', 'failed')");
    const now = this.engine === 'postgres' ? 'now()' : 'CURRENT_TIMESTAMP(3)';
    await this.q(`UPDATE flightdeck_migration_steps SET status = ?, finished_at = COALESCE(finished_at, ${now}) WHERE status IN ('running', 'failed')`, [resolution]);
    return Number(open[0]?.n ?? 0);
  }

  async flyway(): Promise<FlywayState | null> {
    if (!(await this.tableExists('flyway_schema_history'))) return null;
    const rows = await this.q<{ version: string | null; description: string; success: boolean | number }>('SELECT version, description, success FROM flyway_schema_history ORDER BY installed_rank');
    const ok = rows.filter((r) => Boolean(Number(r.success)) && r.version !== null);
    return {
      table: 'flyway_schema_history',
      latestVersion: ok.length ? ok[ok.length - 1]!.version : null,
      entries: rows.length,
      failed: rows.filter((r) => !Number(r.success)).map((r) => ({ version: r.version, description: r.description })),
    };
  }
}

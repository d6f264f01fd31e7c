// Saved baselines of statement times: each statement's mean time at a moment the DBA chose (before
// a migration window, typically), kept per profile on disk and handed to the sampler, so the
// Statements panel shows every statement's mean now against its mean then.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SqlSession } from '../connections/adapter';
import { writeFileAtomic } from '../platform/atomic-file';
import { statementId } from './mysql-digests';

export interface BaselineInfo {
  profileId: string;
  capturedAt: string;
  statements: number;
  file: string;
}

export class StatementBaselines {
  /** One live map per profile: the sampler holds it, so a new capture shows at the next sample. */
  private readonly maps = new Map<string, Map<string, number>>();
  private readonly info = new Map<string, BaselineInfo>();
  private readonly loaded = new Set<string>();

  constructor(private readonly dir: string) {}

  private file(profileId: string): string {
    return path.join(this.dir, `statements-${profileId.replace(/[^\w.-]/g, '_')}.json`);
  }

  /** The profile's baseline map (empty until one is saved), loaded from disk on first use. */
  async get(profileId: string): Promise<Map<string, number>> {
    let map = this.maps.get(profileId);
    if (!map) {
      map = new Map();
      this.maps.set(profileId, map);
    }
    if (!this.loaded.has(profileId)) {
      this.loaded.add(profileId);
      try {
        const saved = JSON.parse(await fs.readFile(this.file(profileId), 'utf8')) as { capturedAt: string; means: Record<string, number> };
        for (const [id, mean] of Object.entries(saved.means)) map.set(id, mean);
        this.info.set(profileId, { profileId, capturedAt: saved.capturedAt, statements: map.size, file: this.file(profileId) });
      } catch {
        // No baseline saved yet.
      }
    }
    return map;
  }

  describe(profileId: string): BaselineInfo | null {
    return this.info.get(profileId) ?? null;
  }

  /** Reads every statement's mean time since the statistics began (nothing is reset) and saves it. */
  async capture(profileId: string, session: SqlSession): Promise<BaselineInfo> {
    const means = new Map<string, number>();
    if (session.engine === 'postgres') {
      const ext = await session.query<{ schema: string }>("select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_stat_statements'");
      if (ext.length) {
        const schema = `"${ext[0]!.schema.replace(/"/g, '""')}"`;
        // The panel's statement id is the queryid (all users and nesting levels together).
        const rows = await session.query<{ id: string; mean: number }>(
          `select queryid::text as id, sum(total_exec_time) / nullif(sum(calls), 0) as mean from ${schema}.pg_stat_statements(false) where queryid is not null group by queryid`,
        );
        for (const r of rows) if (r.mean !== null) means.set(r.id, Number(r.mean));
      }
    } else {
      const rows = await session.query<{ schema_name: string | null; digest: string | null; mean: string }>(
        'SELECT SCHEMA_NAME AS schema_name, DIGEST AS digest, AVG_TIMER_WAIT / 1e9 AS mean FROM performance_schema.events_statements_summary_by_digest WHERE COUNT_STAR > 0',
      );
      for (const r of rows) means.set(statementId(r.schema_name, r.digest), Number(r.mean));
    }
    const capturedAt = new Date().toISOString();
    const file = this.file(profileId);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, `${JSON.stringify({ profileId, capturedAt, engine: session.engine, means: Object.fromEntries(means) })}\n`);
    const map = await this.get(profileId);
    map.clear();
    for (const [id, mean] of means) map.set(id, mean);
    const info = { profileId, capturedAt, statements: means.size, file };
    this.info.set(profileId, info);
    return info;
  }
}

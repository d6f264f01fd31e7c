// Transactions, rollbacks, deadlocks and temporary files per second, as differences between two
// readings of the server's cumulative counters. The counters are never reset (no FLUSH STATUS):
// other tools and the DBA rely on them. The first reading has no predecessor, so its rates are null.
import type { ActivityPanel } from '../../shared/monitor';
import { isDenied } from './mysql-panel-errors';
import type { MysqlServer, Queryable } from './mysql-server';

// Com_commit / Com_rollback count COMMIT and ROLLBACK statements: explicit transactions, which is
// what a migration window and its application run. Autocommit statements are not among them.
// Performance_schema_thread_instances_lost says performance_schema.threads misses sessions.
const statusNames = ['Com_commit', 'Com_rollback', 'Innodb_deadlocks', 'Created_tmp_disk_tables', 'Created_tmp_files', 'Performance_schema_thread_instances_lost'] as const;

interface Counters {
  /** performance.now() when read, for a monotonic interval. */
  at: number;
  commits: number;
  rollbacks: number;
  deadlocks: number | null;
  tempFiles: number;
}

export type Rates = Pick<ActivityPanel, 'commitsPerSec' | 'rollbacksPerSec' | 'deadlocksPerSec' | 'tempFilesPerSec'>;

export class StatusRates {
  private previous: Counters | undefined;
  /** Whether performance_schema.threads lists every session (see readSessions). */
  threadsComplete = true;

  async read(session: Queryable, server: MysqlServer): Promise<Rates> {
    const rows = await session.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${statusNames.map(() => '?').join(',')})`, [...statusNames]);
    const at = performance.now();
    const status = new Map(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
    this.threadsComplete = (status.get('Performance_schema_thread_instances_lost') ?? 0) === 0;
    let deadlocks = status.get('Innodb_deadlocks') ?? null;
    if (deadlocks === null && !server.mariadb) {
      // MySQL has no Innodb_deadlocks status variable; the InnoDB metrics counter lock_deadlocks
      // counts them when its module is enabled (it is by default), and is null otherwise.
      const metric = await session.query("SELECT `COUNT` AS n, `STATUS` AS status FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'").catch((e: unknown) => {
        // INNODB_METRICS needs PROCESS, whose lack the pool panel already reports.
        if (isDenied(e)) return [];
        throw e;
      });
      const m = metric[0];
      if (m && String(m.status).toLowerCase() === 'enabled') deadlocks = Number(m.n);
    }
    const now: Counters = {
      at,
      commits: status.get('Com_commit') ?? 0,
      rollbacks: status.get('Com_rollback') ?? 0,
      deadlocks,
      tempFiles: (status.get('Created_tmp_disk_tables') ?? 0) + (status.get('Created_tmp_files') ?? 0),
    };
    const before = this.previous;
    this.previous = now;
    if (!before) return { commitsPerSec: null, rollbacksPerSec: null, deadlocksPerSec: null, tempFilesPerSec: null };
    const seconds = (now.at - before.at) / 1000;
    // A counter that went down was reset (a restart behind the same address, or someone's FLUSH
    // STATUS): that interval has no meaningful rate.
    const rate = (a: number | null, b: number | null) => (a === null || b === null || a < b || seconds <= 0 ? null : (a - b) / seconds);
    return {
      commitsPerSec: rate(now.commits, before.commits),
      rollbacksPerSec: rate(now.rollbacks, before.rollbacks),
      deadlocksPerSec: rate(now.deadlocks, before.deadlocks),
      tempFilesPerSec: rate(now.tempFiles, before.tempFiles),
    };
  }

  /** After the session was lost the server may have restarted: start over. */
  reset(): void {
    this.previous = undefined;
  }
}

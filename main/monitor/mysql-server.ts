// What the MySQL/MariaDB sampler must know about the server before it can choose its queries:
// the flavor and version (lock tables and replication statements differ between MySQL 8 and
// MariaDB), whether performance_schema runs, which of its consumers and instruments are on, and the
// account the monitor logs in as, so that every hint names the exact GRANT to run.
import type { SqlSession } from '../connections/adapter';
import { isDenied, PanelProblem } from './mysql-panel-errors';

export type Version = readonly [number, number, number];

/** What the panel readers need of the session: statements only (the sampler tags them). */
export type Queryable = Pick<SqlSession, 'query'>;

export interface MysqlServer {
  mariadb: boolean;
  version: Version;
  /** Set at server start; it cannot change without a restart, so it is read once per session. */
  performanceSchema: boolean;
  /** 'user'@'host' of the monitoring account, ready to paste into a GRANT. */
  account: string;
}

export function versionAtLeast(server: MysqlServer, min: Version): boolean {
  for (let i = 0; i < 3; i++) {
    const a = server.version[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

function quoteAccount(currentUser: string): string {
  const at = currentUser.lastIndexOf('@');
  const user = at < 0 ? currentUser : currentUser.slice(0, at);
  const host = at < 0 ? '%' : currentUser.slice(at + 1);
  return `'${user.replace(/'/g, "''")}'@'${host.replace(/'/g, "''")}'`;
}

export async function describeServer(session: Queryable): Promise<MysqlServer> {
  const rows = await session.query('SELECT VERSION() AS v, CURRENT_USER() AS cu, @@GLOBAL.performance_schema AS ps');
  const row = rows[0] ?? {};
  const text = String(row.v ?? '');
  const parts = (/^(\d+)\.(\d+)\.(\d+)/.exec(text) ?? []).slice(1).map(Number);
  return {
    mariadb: /mariadb/i.test(text),
    version: [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0],
    performanceSchema: Number(row.ps) === 1 || String(row.ps).toUpperCase() === 'ON',
    account: quoteAccount(String(row.cu ?? '')),
  };
}

export const mdlInstrument = 'wait/lock/metadata/sql/mdl';

/** The performance_schema switches that decide what the panels can see, read every sample because
 * a DBA may flip them at runtime (and does, after reading one of our hints). */
export interface PerfSchemaSetup {
  consumers: ReadonlyMap<string, boolean>;
  /** Whether metadata locks are recorded in performance_schema.metadata_locks. */
  mdlInstrument: boolean;
}

export function perfSchemaOffHint(): string {
  return 'Set performance_schema=ON in the [mysqld] section of my.cnf and restart the server; it cannot be switched on at runtime.';
}

export function perfSchemaGrantHint(server: MysqlServer): string {
  return `Let the monitoring account read performance_schema: GRANT SELECT ON performance_schema.* TO ${server.account};`;
}

/**
 * Reads setup_consumers and the metadata-lock instrument in one round trip. Throws a PanelProblem
 * when performance_schema is off or unreadable, for the panels that depend on it to report.
 */
export async function readPerfSchemaSetup(session: Queryable, server: MysqlServer): Promise<PerfSchemaSetup> {
  if (!server.performanceSchema) throw new PanelProblem('performance_schema is OFF on this server.', perfSchemaOffHint());
  let rows;
  try {
    rows = await session.query(
      'SELECT NAME AS name, ENABLED AS enabled FROM performance_schema.setup_consumers ' +
        'UNION ALL SELECT NAME, ENABLED FROM performance_schema.setup_instruments WHERE NAME = ?',
      [mdlInstrument],
    );
  } catch (e) {
    if (isDenied(e)) throw new PanelProblem(`${server.account} may not read performance_schema.`, perfSchemaGrantHint(server));
    throw e;
  }
  const consumers = new Map<string, boolean>();
  let mdl = false;
  for (const r of rows) {
    const on = String(r.enabled).toUpperCase() === 'YES';
    if (r.name === mdlInstrument) mdl = on;
    else consumers.set(String(r.name), on);
  }
  return { consumers, mdlInstrument: mdl };
}

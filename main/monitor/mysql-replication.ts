// The replication panel for MySQL/MariaDB. On a replica, the replica status statement gives the
// delay and the state of the receiver (IO) and applier (SQL) threads, per channel. On a primary,
// each connected replica is a 'Binlog Dump' thread in the process list; MySQL keeps no per-replica
// lag on the primary, so lag there is unknown (null) rather than guessed.
import type { ReplicationPanel } from '../../shared/monitor';
import { isDenied, PanelProblem, type PanelError } from './mysql-panel-errors';
import { versionAtLeast, type MysqlServer, type Queryable } from './mysql-server';
import type { SessionSnapshot } from './mysql-sessions';

/**
 * MySQL 8.0 made SHOW SLAVE STATUS non-blocking against STOP SLAVE (the NONBLOCKING keyword of
 * early 5.7 builds is gone), and 8.0.22 renamed it SHOW REPLICA STATUS (one row per channel).
 * MariaDB has no non-blocking form; SHOW ALL … STATUS lists every multi-source connection, and
 * its REPLICAS spelling exists from 10.5.1.
 */
export function replicaStatusStatement(server: MysqlServer): string {
  if (server.mariadb) return versionAtLeast(server, [10, 5, 1]) ? 'SHOW ALL REPLICAS STATUS' : 'SHOW ALL SLAVES STATUS';
  return versionAtLeast(server, [8, 0, 22]) ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS';
}

function replicaGrantHint(server: MysqlServer): string {
  return server.mariadb
    ? `GRANT SLAVE MONITOR ON *.* TO ${server.account}; (MariaDB 10.5.9 and later; REPLICATION CLIENT before)`
    : `GRANT REPLICATION CLIENT ON *.* TO ${server.account};`;
}

type StatusRow = Record<string, unknown>;

/** A column under its MySQL 8.0.22+ name or its older (and MariaDB) name. */
function field(row: StatusRow, ...names: string[]): unknown {
  for (const n of names) if (row[n] !== undefined) return row[n];
  return undefined;
}
const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

interface Channel {
  name: string;
  io: string;
  sql: string;
  lagSeconds: number | null;
  lagBytes: number | null;
  state: string;
  paused: boolean;
}

function channel(row: StatusRow): Channel {
  const name = text(field(row, 'Channel_Name', 'Connection_name'));
  const io = text(field(row, 'Replica_IO_Running', 'Slave_IO_Running'));
  const sql = text(field(row, 'Replica_SQL_Running', 'Slave_SQL_Running'));
  const ioState = text(field(row, 'Replica_IO_State', 'Slave_IO_State'));
  const ioError = text(field(row, 'Last_IO_Error'));
  const sqlError = text(field(row, 'Last_SQL_Error'));
  // Bytes of the source's binary log the receiver has fetched but the applier has not executed;
  // comparable only while both point into the same binlog file.
  const readFile = text(field(row, 'Source_Log_File', 'Master_Log_File'));
  const execFile = text(field(row, 'Relay_Source_Log_File', 'Relay_Master_Log_File'));
  const readPos = numOrNull(field(row, 'Read_Source_Log_Pos', 'Read_Master_Log_Pos'));
  const execPos = numOrNull(field(row, 'Exec_Source_Log_Pos', 'Exec_Master_Log_Pos'));
  const lagBytes = readFile && readFile === execFile && readPos !== null && execPos !== null ? Math.max(0, readPos - execPos) : null;
  const parts = [`IO ${io || 'unknown'}, SQL ${sql || 'unknown'}`];
  if (ioState) parts.push(ioState);
  if (ioError) parts.push(`IO error: ${ioError}`);
  if (sqlError) parts.push(`SQL error: ${sqlError}`);
  return {
    name,
    io,
    sql,
    lagSeconds: numOrNull(field(row, 'Seconds_Behind_Source', 'Seconds_Behind_Master')),
    lagBytes,
    state: (name ? `${name}: ` : '') + parts.join('; '),
    // An applier stopped on purpose (STOP REPLICA SQL_THREAD) is the analogue of a paused replay;
    // one stopped by an error is broken, and its state says so.
    paused: sql === 'No' && !sqlError,
  };
}

export interface ReplicationReading {
  panel: ReplicationPanel;
  notes: PanelError[];
}

export async function readReplication(session: Queryable, server: MysqlServer, snap: SessionSnapshot | undefined): Promise<ReplicationReading> {
  const notes: PanelError[] = [];
  const replicas: ReplicationPanel['replicas'] = [];
  let replicaThreads = false;
  for (const s of snap?.sessions.values() ?? []) {
    if (s.kind === 'binlog-dump') {
      // The thread id tells apart two replicas connecting from one host as one user.
      replicas.push({ name: `${s.user}@${s.host} (thread ${s.id})`, address: s.host, state: s.state || s.command, lagBytes: null, lagSeconds: null });
    } else if (s.kind === 'replica-thread') {
      replicaThreads = true;
    }
  }

  let channels: Channel[] | undefined;
  try {
    channels = (await session.query(replicaStatusStatement(server))).map(channel);
  } catch (e) {
    if (!isDenied(e)) throw e;
    // The process list still tells a replica (its receiver and applier threads) from a primary.
    if (!snap) throw new PanelProblem(`${server.account} may not run ${replicaStatusStatement(server)}, and the process list could not be read.`, replicaGrantHint(server));
    notes.push({ panel: 'replication', message: `Replication lag is unknown: ${server.account} may not run ${replicaStatusStatement(server)}.`, hint: replicaGrantHint(server) });
  }

  let self: ReplicationPanel['self'];
  if (channels && channels.length > 0) {
    const lags = channels.map((c) => c.lagSeconds);
    const bytes = channels.map((c) => c.lagBytes);
    self = {
      // One channel with unknown lag (its applier stopped) makes the replica's lag unknown: the
      // largest known value would understate it.
      lagSeconds: lags.includes(null) ? null : Math.max(...(lags as number[])),
      lagBytes: bytes.includes(null) ? null : (bytes as number[]).reduce((a, b) => a + b, 0),
      replayPaused: channels.some((c) => c.paused),
      state: channels.map((c) => c.state).join(' | '),
    };
  } else if (!channels && replicaThreads) {
    self = { lagSeconds: null, lagBytes: null, replayPaused: false, state: 'replicating (details need the replication monitoring privilege)' };
  }
  const role: ReplicationPanel['role'] = self ? 'replica' : replicas.length > 0 ? 'primary' : 'standalone';
  // MySQL has no replication slots; binlog retention is by time or size, not per replica.
  return { panel: { role, replicas, slots: [], ...(self ? { self } : {}) }, notes };
}

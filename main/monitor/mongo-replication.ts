// MongoDB's replication panel from replSetGetStatus (each member's state and last applied optime)
// and the oplog of the member sampled (how far back it reaches). Lag is the primary's optime less
// the member's, as rs.printSecondaryReplicationInfo() computes it: on a secondary the primary's
// optime is the one learnt from its last heartbeat, so up to a heartbeat interval (2 s) old.
// MongoDB does not count replication in bytes, so lagBytes is null.
import type { ReplicationPanel } from '../../shared/monitor';

export interface MemberStatus {
  name: string;
  health?: number;
  state: number;
  stateStr: string;
  optimeDate?: Date;
  self?: boolean;
  syncSourceHost?: string;
}

export interface ReplSetStatus {
  set?: string;
  myState: number;
  members: MemberStatus[];
}

const primaryState = 1;
const secondaryState = 2;

export function replicationPanel(status: ReplSetStatus, oplog?: ReplicationPanel['oplog']): ReplicationPanel {
  const primary = status.members.find((m) => m.state === primaryState && m.health !== 0);
  const self = status.members.find((m) => m.self);
  const lagOf = (m: MemberStatus): number | null => {
    if (!primary?.optimeDate || !m.optimeDate || m.health === 0) return null;
    return Math.max(0, (primary.optimeDate.getTime() - m.optimeDate.getTime()) / 1000);
  };
  const stateOf = (m: MemberStatus) => (m.health === 0 ? `unreachable (last ${m.stateStr})` : m.stateStr);
  const base = { slots: [], ...(oplog ? { oplog } : {}) };
  if (status.myState === primaryState) {
    return {
      role: 'primary',
      replicas: status.members
        .filter((m) => !m.self)
        .map((m) => ({
          name: m.name,
          address: m.name,
          state: stateOf(m),
          lagBytes: null,
          // An arbiter holds no data, so it has no lag.
          lagSeconds: m.stateStr === 'ARBITER' ? null : lagOf(m),
          ...(m.syncSourceHost ? { syncState: `syncs from ${m.syncSourceHost}` } : {}),
        })),
      ...base,
    };
  }
  return {
    role: 'replica',
    replicas: [],
    ...base,
    self: {
      lagSeconds: self ? lagOf(self) : null,
      lagBytes: null,
      replayPaused: false,
      state: self ? `${stateOf(self)}${status.myState === secondaryState && !primary ? ' (no primary in sight)' : ''}${self.syncSourceHost ? `, syncs from ${self.syncSourceHost}` : ''}` : 'unknown',
    },
  };
}

/** The oplog's first and last entry times (seconds) and its size: the replication window. */
export function oplogWindow(firstTs: number, lastTs: number, usedBytes: number, maxBytes: number): NonNullable<ReplicationPanel['oplog']> {
  return { windowSeconds: Math.max(0, lastTs - firstTs), usedBytes, maxBytes };
}

// The locks panel's blocking chains as trees: each session that blocks others at the top, the
// sessions waiting for it below, and below a waiter the sessions waiting for *it* when it holds
// locks of its own (a chain). The sample lists waits and blockers flat; this puts them together.
import type { LocksPanel } from '../../../shared/monitor';

export type LockWait = LocksPanel['waits'][number];
export type Blocker = LocksPanel['blockers'][number];

export interface WaiterNode {
  wait: LockWait;
  /** Set when this waiter is itself a blocker further down the chain. */
  asBlocker?: Blocker;
  /** Other sessions it also waits for, besides the one above it in the tree. */
  alsoBlockedBy: number[];
  waiters: WaiterNode[];
}

export interface Chain {
  blocker: Blocker;
  waiters: WaiterNode[];
  /** Every session below the blocker, at any depth. */
  total: number;
}

export function buildChains(locks: LocksPanel): Chain[] {
  const blockerByPid = new Map(locks.blockers.map((b) => [b.pid, b]));
  const waitersOf = new Map<number, LockWait[]>();
  for (const w of locks.waits) {
    for (const pid of w.blockedBy) {
      let list = waitersOf.get(pid);
      if (!list) waitersOf.set(pid, (list = []));
      list.push(w);
    }
  }

  const placed = new Set<number>();
  const grow = (pid: number, path: Set<number>): WaiterNode[] =>
    (waitersOf.get(pid) ?? [])
      // A cycle (a deadlock the server has not broken yet) would otherwise recurse for ever.
      .filter((w) => !path.has(w.pid))
      .sort((a, b) => b.waitMs - a.waitMs)
      .map((wait) => {
        placed.add(wait.pid);
        const asBlocker = blockerByPid.get(wait.pid);
        const inner = new Set(path).add(wait.pid);
        return { wait, asBlocker, alsoBlockedBy: wait.blockedBy.filter((p) => p !== pid), waiters: asBlocker ? grow(wait.pid, inner) : [] };
      });
  const count = (nodes: WaiterNode[]): number => nodes.reduce((n, node) => n + 1 + count(node.waiters), 0);

  const chains: Chain[] = [];
  // Heads first: blockers that are not waiting themselves are where a chain can be cut.
  const heads = [...locks.blockers.filter((b) => !b.waiting), ...locks.blockers.filter((b) => b.waiting)];
  for (const blocker of heads) {
    if (blocker.waiting && placed.has(blocker.pid)) continue;
    placed.add(blocker.pid);
    const waiters = grow(blocker.pid, new Set([blocker.pid]));
    chains.push({ blocker, waiters, total: count(waiters) });
  }
  return chains.sort((a, b) => b.total - a.total || (b.blocker.xactMs ?? 0) - (a.blocker.xactMs ?? 0));
}

import { formatDuration, oneLine, sessionLabel } from '../format/health-format';
import type { Blocker, Chain, WaiterNode } from '../health/lock-tree';
import { useUiStore } from '../store/ui-store';

interface Props {
  profileId: string;
  /** How sessions are named (pid, connection id, operation id). */
  engine?: string;
  /** Every blocker's label by its pid (a MongoDB idle transaction is named by its session). */
  names?: ReadonlyMap<number, string>;
  chain: Chain;
  canSignal: boolean;
}

/** One blocking chain: the blocker on top with its actions, the sessions waiting for it below. */
export function BlockingChain({ profileId, engine, names, chain, canSignal }: Props) {
  return (
    <div className="chain" data-testid="blocking-chain" data-blocker-pid={chain.blocker.pid}>
      <BlockerRow profileId={profileId} engine={engine} blocker={chain.blocker} canSignal={canSignal} blocks={chain.total} />
      <WaiterList profileId={profileId} engine={engine} names={names} nodes={chain.waiters} canSignal={canSignal} />
    </div>
  );
}

function SignalButtons({ profileId, session, canSignal }: { profileId: string; session: Blocker; canSignal: boolean }) {
  const openDialog = useUiStore((s) => s.openDialog);
  const signal = (action: 'cancel' | 'terminate') => openDialog({ kind: 'signal-backend', profileId, action, session });
  const why = canSignal ? undefined : 'Watch-only: this cockpit cannot signal sessions.';
  return (
    <span className="chain-actions">
      <button type="button" className="button small" disabled={!canSignal} title={why} onClick={() => signal('cancel')}>
        Cancel query
      </button>
      <button type="button" className="button small danger" disabled={!canSignal} title={why} onClick={() => signal('terminate')}>
        Terminate
      </button>
    </span>
  );
}

function BlockerRow({ profileId, engine, blocker, canSignal, blocks }: { profileId: string; engine?: string; blocker: Blocker; canSignal: boolean; blocks: number }) {
  return (
    <div className="chain-blocker" data-testid="chain-blocker" data-pid={blocker.pid}>
      <div className="chain-line">
        <span className="chain-role blocker">blocker</span>
        <span className="pid mono">{sessionLabel(blocker, engine)}</span>
        <span className="who">
          {blocker.user}
          {blocker.application && <span className="muted"> · {blocker.application}</span>}
        </span>
        <span className={`session-state state-${blocker.state.replace(/\W+/g, '-')}`}>{blocker.state}</span>
        <span className="xact" title="Age of its open transaction">
          xact {formatDuration(blocker.xactMs)}
        </span>
        <span className="blocks muted">
          blocks {blocks} session{blocks === 1 ? '' : 's'}
        </span>
        <SignalButtons profileId={profileId} session={blocker} canSignal={canSignal} />
      </div>
      <code className="chain-query" title={blocker.query}>
        {oneLine(blocker.query) || <span className="muted">(no query)</span>}
      </code>
    </div>
  );
}

function WaiterList({ profileId, engine, names, nodes, canSignal }: { profileId: string; engine?: string; names?: ReadonlyMap<number, string>; nodes: WaiterNode[]; canSignal: boolean }) {
  if (!nodes.length) return null;
  return (
    <ul className="chain-waiters">
      {nodes.map((node) => (
        <li key={node.wait.pid} className="chain-waiter" data-testid="chain-waiter" data-pid={node.wait.pid}>
          <div className="chain-line">
            <span className="chain-role waiter">waits</span>
            <span className="pid mono">{sessionLabel(node.wait, engine)}</span>
            <span className="lock-mode mono">{node.wait.mode}</span>
            <span className="relation mono">{node.wait.relation}</span>
            <span className={`wait-time ${node.wait.waitMs >= 10_000 ? 'level-critical' : node.wait.waitMs >= 1000 ? 'level-warn' : ''}`}>
              waiting {formatDuration(node.wait.waitMs)}
            </span>
            <span className="who">
              {node.wait.user}
              {node.wait.application && <span className="muted"> · {node.wait.application}</span>}
            </span>
            {node.alsoBlockedBy.length > 0 && <span className="muted small">also waits for {node.alsoBlockedBy.map((p) => names?.get(p) ?? sessionLabel({ pid: p }, engine)).join(', ')}</span>}
            {node.asBlocker && (
              <>
                <span className="blocks muted">
                  and blocks {countBelow(node.waiters)}
                </span>
                <SignalButtons profileId={profileId} session={node.asBlocker} canSignal={canSignal} />
              </>
            )}
          </div>
          <code className="chain-query" title={node.wait.query}>
            {oneLine(node.wait.query) || <span className="muted">(no query)</span>}
          </code>
          <WaiterList profileId={profileId} engine={engine} names={names} nodes={node.waiters} canSignal={canSignal} />
        </li>
      ))}
    </ul>
  );
}

function countBelow(nodes: WaiterNode[]): number {
  return nodes.reduce((n, node) => n + 1 + countBelow(node.waiters), 0);
}

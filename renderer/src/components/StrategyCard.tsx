import type { StrategyRecommendation } from '../../../shared/plan';

const names: Record<StrategyRecommendation['strategy'], string> = {
  'expand-contract': 'Expand-contract',
  'shadow-table': 'Shadow table',
  'blue-green': 'Blue-green',
  'online-ddl': 'Online DDL',
  'maintenance-window': 'Maintenance window',
};

/** The recommended strategy, why, and for expand-contract the phases the change needs. */
export function StrategyCard({ strategy }: { strategy: StrategyRecommendation }) {
  return (
    <section className="strategy-card" data-testid="strategy" data-strategy={strategy.strategy}>
      <div className="strategy-head">
        <span className="strategy-name">{names[strategy.strategy]}</span>
        <span className="muted small">
          risk {strategy.risk} · {strategy.downtime}
        </span>
      </div>
      <ul className="strategy-reasons">
        {strategy.reasons.map((r, i) => (
          <li key={i}>{r}</li>
        ))}
      </ul>
      {strategy.phases.length > 0 && (
        <ol className="strategy-phases">
          {strategy.phases.map((p) => (
            <li key={p.name}>
              <div className="phase-name">{p.name}</div>
              {p.steps.map((s, i) => (
                <pre key={i} className="phase-step">
                  {s}
                </pre>
              ))}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

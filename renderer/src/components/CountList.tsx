interface Props {
  title: string;
  items: { name: string; count: number }[];
  total: number;
  /** How many rows; the rest are summed into one. */
  limit?: number;
}

/** Sessions per application or user, largest first, each with a bar of its share. */
export function CountList({ title, items, total, limit = 5 }: Props) {
  const sorted = [...items].sort((a, b) => b.count - a.count);
  const shown = sorted.slice(0, limit);
  const rest = sorted.slice(limit).reduce((n, i) => n + i.count, 0);
  return (
    <div className="count-list">
      <h4>{title}</h4>
      {shown.length === 0 ? (
        <p className="muted small">No client sessions.</p>
      ) : (
        <ul>
          {shown.map((i) => (
            <li key={i.name}>
              <span className="count-name" title={i.name || '(none)'}>
                {i.name || <span className="muted">(none)</span>}
              </span>
              <span className="count-bar" aria-hidden="true">
                <span style={{ width: `${total > 0 ? Math.max(2, (100 * i.count) / total) : 0}%` }} />
              </span>
              <span className="count-value">{i.count}</span>
            </li>
          ))}
          {rest > 0 && (
            <li className="muted">
              <span className="count-name">{sorted.length - limit} more</span>
              <span className="count-bar" aria-hidden="true" />
              <span className="count-value">{rest}</span>
            </li>
          )}
        </ul>
      )}
    </div>
  );
}

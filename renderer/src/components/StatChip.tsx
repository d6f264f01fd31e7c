import type { ReactNode } from 'react';
import type { Level } from '../health/thresholds';

interface Props {
  label: string;
  value: ReactNode;
  level?: Level;
  title?: string;
  testId?: string;
}

/** One headline number of a panel, coloured by its threshold. */
export function StatChip({ label, value, level = 'ok', title, testId }: Props) {
  return (
    <span className={`stat level-${level}`} title={title} data-testid={testId}>
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </span>
  );
}

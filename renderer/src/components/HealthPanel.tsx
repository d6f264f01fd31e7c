import type { ReactNode } from 'react';
import type { Sample } from '../../../shared/monitor';
import type { Level } from '../health/thresholds';

export type PanelError = Sample['errors'][number];

interface Props {
  name: string;
  title: string;
  level?: Level;
  stats?: ReactNode;
  /** This panel could not be read in the shown sample. */
  error?: PanelError;
  wide?: boolean;
  children?: ReactNode;
}

/** The frame every health panel shares: title, headline numbers, and why it is empty if it is. */
export function HealthPanel({ name, title, level = 'ok', stats, error, wide, children }: Props) {
  return (
    <section className={`health-panel panel-${name} panel-level-${level}${wide ? ' wide' : ''}`} aria-label={title} data-testid={`panel-${name}`}>
      <header className="health-panel-header">
        <h3>{title}</h3>
        {stats && <div className="panel-stats">{stats}</div>}
      </header>
      {error && (
        <div className="panel-error" role="alert">
          <span className="panel-error-message">{error.message}</span>
          {error.hint && <span className="panel-error-hint">{error.hint}</span>}
        </div>
      )}
      {children}
    </section>
  );
}

import type { ReactNode } from 'react';
import type { FlightdeckError } from '../../../shared/errors';

interface Props {
  error: FlightdeckError;
  title?: string;
  /** 'refusal' for errors the user must not click past (a changed host key); 'notice' for a
   * question the user can answer (an unknown host key). */
  tone?: 'error' | 'refusal' | 'notice';
  children?: ReactNode;
}

export function ErrorCallout({ error, title, tone = 'error', children }: Props) {
  return (
    <div className={`error-callout ${tone}`} role="alert" data-error-code={error.code}>
      {title && <div className="error-title">{title}</div>}
      <div className="error-message">{error.message}</div>
      {error.hint && <div className="error-hint">{error.hint}</div>}
      {children}
      <div className="error-code">{error.code}</div>
    </div>
  );
}

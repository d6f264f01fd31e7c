import type { ReactNode } from 'react';

interface Props {
  id: string;
  label: string;
  error?: string;
  hint?: ReactNode;
  /** Grid columns the row spans in its section (the sections are 6 columns wide). */
  span?: 1 | 2 | 3 | 4 | 6;
  children: ReactNode;
}

export function FieldRow({ id, label, error, hint, span = 3, children }: Props) {
  return (
    <div className={`field span-${span}${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <div className="field-error" id={`${id}-error`} role="alert">
          {error}
        </div>
      ) : (
        hint && <div className="field-hint">{hint}</div>
      )}
    </div>
  );
}

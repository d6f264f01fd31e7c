import type { ReactNode } from 'react';

interface Props {
  title: string;
  /** A control beside the title, e.g. the switch that turns the SSH tunnel on. */
  aside?: ReactNode;
  children?: ReactNode;
  id?: string;
}

export function FormSection({ title, aside, children, id }: Props) {
  return (
    <section className="form-section" aria-labelledby={id ? `${id}-title` : undefined}>
      <header className="form-section-header">
        <h3 id={id ? `${id}-title` : undefined}>{title}</h3>
        {aside}
      </header>
      {children && <div className="form-grid">{children}</div>}
    </section>
  );
}

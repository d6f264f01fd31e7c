import type { ReactNode } from 'react';
import type { FieldBinding } from '../profile-form/use-profile-editor';

interface Props {
  label: string;
  field: FieldBinding<boolean>;
  hint?: ReactNode;
  disabled?: boolean;
  span?: 1 | 2 | 3 | 4 | 6;
}

export function CheckboxField({ label, field, hint, disabled, span = 3 }: Props) {
  return (
    <div className={`field checkbox-field span-${span}`}>
      <label htmlFor={field.id}>
        <input id={field.id} type="checkbox" checked={field.value} disabled={disabled} onChange={(e) => field.onChange(e.target.checked)} />
        {label}
      </label>
      {hint && <div className="field-hint">{hint}</div>}
    </div>
  );
}

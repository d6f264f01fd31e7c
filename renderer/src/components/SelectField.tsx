import type { ReactNode } from 'react';
import type { FieldBinding } from '../profile-form/use-profile-editor';
import { FieldRow } from './FieldRow';

interface Props<V extends string> {
  label: string;
  field: FieldBinding<V>;
  options: readonly { value: V; label: string }[];
  hint?: ReactNode;
  span?: 1 | 2 | 3 | 4 | 6;
  disabled?: boolean;
  /** Replaces field.onChange when choosing a value has consequences (engine → port). */
  onChange?: (value: V) => void;
}

export function SelectField<V extends string>({ label, field, options, hint, span, disabled, onChange }: Props<V>) {
  return (
    <FieldRow id={field.id} label={label} error={field.error} hint={hint} span={span}>
      <select
        id={field.id}
        value={field.value}
        disabled={disabled}
        aria-invalid={field.error ? true : undefined}
        onChange={(e) => (onChange ?? field.onChange)(e.target.value as V)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldRow>
  );
}

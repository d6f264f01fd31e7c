import type { ReactNode } from 'react';
import type { FieldBinding } from '../profile-form/use-profile-editor';
import { FieldRow } from './FieldRow';

interface Props {
  label: string;
  field: FieldBinding<string>;
  placeholder?: string;
  hint?: ReactNode;
  span?: 1 | 2 | 3 | 4 | 6;
  disabled?: boolean;
  numeric?: boolean;
  /** File paths and host names read better in a fixed-width face. */
  mono?: boolean;
}

export function TextField({ label, field, placeholder, hint, span, disabled, numeric, mono }: Props) {
  return (
    <FieldRow id={field.id} label={label} error={field.error} hint={hint} span={span}>
      <input
        id={field.id}
        className={mono ? 'mono' : undefined}
        type="text"
        inputMode={numeric ? 'numeric' : undefined}
        value={field.value}
        placeholder={placeholder}
        disabled={disabled}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={field.error ? true : undefined}
        aria-describedby={field.error ? `${field.id}-error` : undefined}
        onChange={(e) => field.onChange(e.target.value)}
      />
    </FieldRow>
  );
}

import type { SecretKind } from '../../../shared/profile';
import { fieldId } from '../profile-form/use-profile-editor';
import { FieldRow } from './FieldRow';

interface Props {
  kind: SecretKind;
  label: string;
  /** Whether the core holds this secret; its value never reaches the renderer. */
  stored: boolean;
  /** From the environment rather than the store: it cannot be cleared from here. */
  fromEnvironment: boolean;
  pending: string | null | undefined;
  error?: string;
  disabled?: boolean;
  span?: 1 | 2 | 3 | 4 | 6;
  onChange(value: string | null | undefined): void;
}

export function SecretField({ kind, label, stored, fromEnvironment, pending, error, disabled, span = 3, onChange }: Props) {
  const id = fieldId(`secrets.${kind}`);
  const status =
    pending === null ? (
      <span className="secret-status clearing">will be cleared on save</span>
    ) : typeof pending === 'string' && pending !== '' ? (
      <span className="secret-status setting">will be {stored ? 'replaced' : 'stored'} on save</span>
    ) : stored ? (
      <span className="secret-status stored">{fromEnvironment ? 'stored (environment)' : 'stored'}</span>
    ) : (
      <span className="secret-status missing">not stored</span>
    );
  return (
    <FieldRow id={id} label={label} error={error} span={span} hint={status}>
      <div className="secret-input">
        <input
          id={id}
          type="password"
          // The stored value is never shown; typing here replaces it.
          value={typeof pending === 'string' ? pending : ''}
          // Disabled (read-only) fields offer no replacing, so they only say whether a secret is there.
          placeholder={pending === null ? 'cleared' : stored ? (disabled ? '••••••••' : 'type to replace') : 'not set'}
          autoComplete="new-password"
          disabled={disabled || pending === null}
          onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
        />
        {disabled ? null : pending !== undefined ? (
          <button type="button" className="button small ghost" disabled={disabled} onClick={() => onChange(undefined)}>
            Undo
          </button>
        ) : (
          stored &&
          !fromEnvironment && (
            <button type="button" className="button small ghost" disabled={disabled} onClick={() => onChange(null)}>
              Clear
            </button>
          )
        )}
      </div>
    </FieldRow>
  );
}

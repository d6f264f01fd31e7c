import { environments, type Environment } from '../../../shared/profile';
import { environmentLabels } from '../format/labels';
import type { FieldBinding } from '../profile-form/use-profile-editor';

interface Props {
  field: FieldBinding<Environment>;
  disabled?: boolean;
}

/** Radio buttons in the environment colours: picking "production" should feel like it matters. */
export function EnvironmentPicker({ field, disabled }: Props) {
  return (
    <fieldset className="field span-6 env-picker" id={field.id} disabled={disabled}>
      <legend>Environment</legend>
      <div className="env-picker-options">
        {environments.map((env) => (
          <label key={env} className={`env-option env-option-${env}${field.value === env ? ' checked' : ''}`}>
            <input
              type="radio"
              name={field.id}
              value={env}
              checked={field.value === env}
              onChange={() => field.onChange(env)}
            />
            {environmentLabels[env]}
          </label>
        ))}
      </div>
      {field.error && (
        <div className="field-error" role="alert">
          {field.error}
        </div>
      )}
    </fieldset>
  );
}

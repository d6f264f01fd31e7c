import { engines, type Engine, type Environment } from '../../../shared/profile';
import type { ProfileSummary } from '../../../shared/api';
import { engineLabels, hostPort } from '../format/labels';
import { withEngine } from '../profile-form/profile-form';
import type { ProfileEditorBinding } from '../profile-form/use-profile-editor';
import { useProfilesStore } from '../store/profiles-store';
import { EnvironmentPicker } from './EnvironmentPicker';
import { FormSection } from './FormSection';
import { SecretField } from './SecretField';
import { SelectField } from './SelectField';
import { TextField } from './TextField';

interface Props {
  binding: ProfileEditorBinding;
  summary?: ProfileSummary;
  readOnly: boolean;
}

const engineOptions = engines.map((e) => ({ value: e, label: engineLabels[e] }));

export function ConnectionSection({ binding, summary, readOnly }: Props) {
  const { bind, form, setForm, secrets, setSecret, secretError } = binding;
  const hostHint = form.sshEnabled ? 'As the SSH server sees it (often 127.0.0.1).' : undefined;
  const summaries = useProfilesStore((st) => st.summaries);
  // PgBouncer's admin console is a PostgreSQL profile whose database is the special `pgbouncer`.
  const poolerOptions = [
    { value: '', label: '(none)' },
    ...summaries
      .filter((p) => p.profile.engine === 'postgres' && p.profile.database === 'pgbouncer' && p.profile.id !== form.id)
      .map((p) => ({ value: p.profile.id, label: `${p.profile.name} (${hostPort(p.profile.host, p.profile.port)})` })),
  ];
  if (form.pgbouncerProfileId && !poolerOptions.some((o) => o.value === form.pgbouncerProfileId)) poolerOptions.push({ value: form.pgbouncerProfileId, label: '(deleted profile)' });
  return (
    <FormSection title="Connection" id="section-connection">
      <TextField label="Name" field={bind<string>('name')} placeholder="e.g. orders-primary" span={4} disabled={readOnly} />
      <SelectField<Engine>
        label="Engine"
        field={bind<Engine>('engine')}
        options={engineOptions}
        span={2}
        disabled={readOnly}
        onChange={(engine) => setForm((f) => withEngine(f, engine))}
      />
      <EnvironmentPicker field={bind<Environment>('environment')} disabled={readOnly} />
      <TextField label="Host" field={bind<string>('host')} placeholder="db.internal.example" span={4} hint={hostHint} disabled={readOnly} mono />
      <TextField label="Port" field={bind<string>('port')} span={2} numeric disabled={readOnly} mono />
      <TextField label="Database" field={bind<string>('database')} placeholder={form.engine === 'mongodb' ? 'admin' : 'postgres'} span={2} disabled={readOnly} mono />
      <TextField label="User" field={bind<string>('user')} span={2} disabled={readOnly} mono />
      <SecretField
        kind="db-password"
        label="Password"
        span={2}
        stored={summary?.secrets['db-password'] ?? false}
        fromEnvironment={summary?.secretSource === 'environment'}
        pending={secrets['db-password']}
        error={secretError('db-password')}
        disabled={readOnly}
        onChange={(v) => setSecret('db-password', v)}
      />
      <TextField label="Connect timeout (ms)" field={bind<string>('connectTimeoutMs')} span={2} numeric disabled={readOnly} mono />
      {form.engine === 'postgres' && form.database.trim() !== 'pgbouncer' && (
        <SelectField<string>
          label="PgBouncer in front"
          field={bind<string>('pgbouncerProfileId')}
          options={poolerOptions}
          span={4}
          disabled={readOnly}
          hint="The saved profile of the pooler's admin console (database pgbouncer). Its pools show in the Pool panel, and Phase 0 checks them."
        />
      )}
    </FormSection>
  );
}

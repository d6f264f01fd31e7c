import type { ProfileSummary } from '../../../shared/api';
import type { ProfileEditorBinding } from '../profile-form/use-profile-editor';
import { CheckboxField } from './CheckboxField';
import { FormSection } from './FormSection';
import { SshHopFields } from './SshHopFields';
import { TextField } from './TextField';

interface Props {
  binding: ProfileEditorBinding;
  summary?: ProfileSummary;
  readOnly: boolean;
}

export function SshSection({ binding, summary, readOnly }: Props) {
  const { bind, form } = binding;
  const toggle = <CheckboxField label="Connect through an SSH tunnel" field={bind<boolean>('sshEnabled')} disabled={readOnly} />;
  if (!form.sshEnabled) return <FormSection title="SSH tunnel" id="section-ssh" aside={toggle} />;
  return (
    <FormSection title="SSH tunnel" id="section-ssh" aside={toggle}>
      <SshHopFields binding={binding} summary={summary} hop="ssh" readOnly={readOnly} />
      <TextField
        label="known_hosts file"
        field={bind<string>('ssh.knownHostsFile')}
        placeholder="~/.ssh/known_hosts"
        hint="Host keys are checked against this file; an unknown key is shown to you before it is added."
        span={4}
        disabled={readOnly}
        mono
      />
      <TextField label="Keepalive (ms)" field={bind<string>('ssh.keepaliveIntervalMs')} span={2} numeric disabled={readOnly} mono />
      <div className="form-subsection span-6">
        <CheckboxField label="Go through a jump host first" field={bind<boolean>('jumpEnabled')} disabled={readOnly} span={6} />
      </div>
      {form.jumpEnabled && <SshHopFields binding={binding} summary={summary} hop="jump" readOnly={readOnly} />}
    </FormSection>
  );
}

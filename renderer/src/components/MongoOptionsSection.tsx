import type { ProfileEditorBinding } from '../profile-form/use-profile-editor';
import { CheckboxField } from './CheckboxField';
import { FormSection } from './FormSection';
import { TextField } from './TextField';

export function MongoOptionsSection({ binding, readOnly }: { binding: ProfileEditorBinding; readOnly: boolean }) {
  const { bind } = binding;
  return (
    <FormSection title="MongoDB options" id="section-mongo">
      <TextField label="authSource" field={bind<string>('mongo.authSource')} placeholder="admin" span={3} disabled={readOnly} mono />
      <TextField label="replicaSet" field={bind<string>('mongo.replicaSet')} placeholder="rs0" span={3} disabled={readOnly} mono />
      <CheckboxField
        label="directConnection"
        field={bind<boolean>('mongo.directConnection')}
        hint="Talk to this one member only, without discovering the replica set."
        disabled={readOnly}
      />
      <CheckboxField label="SRV record (mongodb+srv)" field={bind<boolean>('mongo.srv')} hint="Look the members up in DNS; the port is not used." disabled={readOnly} />
    </FormSection>
  );
}

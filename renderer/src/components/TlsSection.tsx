import type { ProfileEditorBinding } from '../profile-form/use-profile-editor';
import type { TlsMode } from '../profile-form/profile-form';
import { FormSection } from './FormSection';
import { SelectField } from './SelectField';
import { TextField } from './TextField';

const modes: { value: TlsMode; label: string }[] = [
  { value: 'disable', label: 'disable — plain connection' },
  { value: 'prefer', label: 'prefer — TLS when the server offers it' },
  { value: 'require', label: 'require — TLS, certificate not verified' },
  { value: 'verify-full', label: 'verify-full — TLS, chain and host name verified' },
];

export function TlsSection({ binding, readOnly }: { binding: ProfileEditorBinding; readOnly: boolean }) {
  const { bind, form } = binding;
  const on = form.tls.mode !== 'disable';
  return (
    <FormSection title="TLS" id="section-tls">
      <SelectField<TlsMode> label="Mode" field={bind<TlsMode>('tls.mode')} options={modes} span={3} disabled={readOnly} />
      {on && (
        <>
          <TextField
            label="Server name"
            field={bind<string>('tls.serverName')}
            placeholder="defaults to the host"
            hint="The name the certificate must carry; set it when connecting by IP or through a tunnel."
            span={3}
            disabled={readOnly}
            mono
          />
          <TextField label="CA file" field={bind<string>('tls.caFile')} placeholder="/etc/ssl/certs/db-ca.pem" span={2} disabled={readOnly} mono />
          <TextField label="Client certificate" field={bind<string>('tls.certFile')} span={2} disabled={readOnly} mono />
          <TextField label="Client key" field={bind<string>('tls.keyFile')} span={2} disabled={readOnly} mono />
        </>
      )}
    </FormSection>
  );
}

import type { ProfileSummary } from '../../../shared/api';
import type { SecretKind, SshAuthMethod } from '../../../shared/profile';
import type { ProfileEditorBinding } from '../profile-form/use-profile-editor';
import { SecretField } from './SecretField';
import { SelectField } from './SelectField';
import { TextField } from './TextField';

const authOptions: { value: SshAuthMethod; label: string }[] = [
  { value: 'key', label: 'Private key file' },
  { value: 'agent', label: 'ssh-agent' },
  { value: 'password', label: 'Password' },
];

interface Props {
  binding: ProfileEditorBinding;
  summary?: ProfileSummary;
  /** 'ssh' for the tunnel's own hop, 'jump' for the bastion in front of it. */
  hop: 'ssh' | 'jump';
  readOnly: boolean;
}

export function SshHopFields({ binding, summary, hop, readOnly }: Props) {
  const { bind, form, secrets, setSecret, secretError } = binding;
  const auth = form[hop].auth;
  const passwordKind: SecretKind = hop === 'ssh' ? 'ssh-password' : 'jump-password';
  const passphraseKind: SecretKind = hop === 'ssh' ? 'ssh-key-passphrase' : 'jump-key-passphrase';
  const secret = (kind: SecretKind, label: string) => (
    <SecretField
      kind={kind}
      label={label}
      span={2}
      stored={summary?.secrets[kind] ?? false}
      fromEnvironment={summary?.secretSource === 'environment'}
      pending={secrets[kind]}
      error={secretError(kind)}
      disabled={readOnly}
      onChange={(v) => setSecret(kind, v)}
    />
  );
  return (
    <>
      <TextField label={hop === 'ssh' ? 'SSH host' : 'Jump host'} field={bind<string>(`${hop}.host`)} placeholder="bastion.example" span={3} disabled={readOnly} mono />
      <TextField label="Port" field={bind<string>(`${hop}.port`)} span={1} numeric disabled={readOnly} mono />
      <TextField label="User" field={bind<string>(`${hop}.user`)} span={2} disabled={readOnly} mono />
      <SelectField<SshAuthMethod> label="Authentication" field={bind<SshAuthMethod>(`${hop}.auth`)} options={authOptions} span={2} disabled={readOnly} />
      {auth === 'key' && (
        <>
          <TextField label="Key file" field={bind<string>(`${hop}.keyFile`)} placeholder="~/.ssh/id_ed25519" span={2} disabled={readOnly} mono />
          {secret(passphraseKind, 'Key passphrase')}
        </>
      )}
      {auth === 'agent' && (
        <TextField label="Agent socket" field={bind<string>(`${hop}.agentSocket`)} placeholder="$SSH_AUTH_SOCK" span={4} disabled={readOnly} mono />
      )}
      {auth === 'password' && secret(passwordKind, 'SSH password')}
    </>
  );
}

import type { HostKeyChallenge } from '../../../shared/api';
import type { FlightdeckError } from '../../../shared/errors';
import { hostPort } from '../format/labels';
import { useWatchOnly } from '../store/app-info-store';
import { trustHostKeyAndRetest } from '../store/profile-actions';
import { useUiStore } from '../store/ui-store';
import { ErrorCallout } from './ErrorCallout';
import { ModalDialog } from './ModalDialog';

interface Props {
  challenge: HostKeyChallenge;
  trusting: boolean;
  error?: FlightdeckError;
}

export function HostKeyDialog({ challenge, trusting, error }: Props) {
  const openDialog = useUiStore((s) => s.openDialog);
  const watchOnly = useWatchOnly();
  const keyFile = challenge.keyType.replace(/^ssh-/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ecdsa');
  return (
    <ModalDialog
      title="Unknown SSH host key"
      testId="host-key-dialog"
      onClose={() => openDialog(undefined)}
      footer={
        <>
          <button type="button" className="button ghost" onClick={() => openDialog(undefined)}>
            Cancel
          </button>
          <button type="button" className="button primary" autoFocus={false} disabled={trusting || watchOnly} onClick={() => void trustHostKeyAndRetest()}>
            {trusting ? 'Trusting…' : 'Trust and connect'}
          </button>
        </>
      }
    >
      <p>
        This is the first connection to <strong className="mono">{hostPort(challenge.host, challenge.port)}</strong>. Its
        key is not in the known_hosts file yet. Compare the fingerprint below with the one the server's administrator
        reads on the server (<span className="mono">ssh-keygen -lf /etc/ssh/ssh_host_{keyFile}_key.pub</span>) before you
        trust it.
      </p>
      <dl className="kv host-key-facts">
        <dt>Host</dt>
        <dd className="mono" data-testid="host-key-host">
          {hostPort(challenge.host, challenge.port)}
        </dd>
        <dt>Key type</dt>
        <dd className="mono">{challenge.keyType}</dd>
        <dt>Fingerprint</dt>
        <dd className="mono fingerprint" data-testid="host-key-fingerprint">
          {challenge.fingerprint}
        </dd>
        <dt>Written to</dt>
        <dd className="mono" data-testid="host-key-file">
          {challenge.knownHostsFile}
        </dd>
      </dl>
      {watchOnly && <p className="muted">Watch-only: this cockpit cannot add keys to known_hosts.</p>}
      {error && <ErrorCallout error={error} title="Not trusted" />}
    </ModalDialog>
  );
}

import { useState } from 'react';
import type { ProfileSummary } from '../../../shared/api';
import { engineLabels, hostPort } from '../format/labels';
import { deleteProfile } from '../store/profile-actions';
import { useUiStore } from '../store/ui-store';
import { EnvironmentTag } from './EnvironmentTag';
import { ModalDialog } from './ModalDialog';

export function DeleteProfileDialog({ summary }: { summary: ProfileSummary }) {
  const openDialog = useUiStore((s) => s.openDialog);
  const [typed, setTyped] = useState('');
  const [deleting, setDeleting] = useState(false);
  const { profile } = summary;
  // Deleting a production profile is the one place a slip costs the most; make it deliberate.
  const production = profile.environment === 'production';
  const confirmed = !production || typed === profile.name;
  return (
    <ModalDialog
      title={`Delete ${profile.name}?`}
      tone="danger"
      testId="delete-dialog"
      onClose={() => openDialog(undefined)}
      footer={
        <>
          <button type="button" className="button ghost" onClick={() => openDialog(undefined)}>
            Cancel
          </button>
          <button
            type="button"
            className="button danger"
            disabled={!confirmed || deleting}
            onClick={async () => {
              setDeleting(true);
              await deleteProfile(profile.id);
              setDeleting(false);
            }}
          >
            {deleting ? 'Deleting…' : 'Delete profile'}
          </button>
        </>
      }
    >
      <p>
        <EnvironmentTag environment={profile.environment} /> {engineLabels[profile.engine]} at{' '}
        <span className="mono">{hostPort(profile.host, profile.port)}</span>
      </p>
      <p>Its connections are closed, and its stored passwords and passphrases are deleted with it. The database is not touched.</p>
      {production && (
        <div className="field">
          <label htmlFor="delete-confirm-name">
            This is a <strong>production</strong> profile. Type its name, <span className="mono">{profile.name}</span>, to delete it.
          </label>
          <input id="delete-confirm-name" type="text" autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
        </div>
      )}
    </ModalDialog>
  );
}

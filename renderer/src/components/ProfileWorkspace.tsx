import type { ProfileSummary } from '../../../shared/api';
import { engineLabels, hostPort } from '../format/labels';
import { useWatchOnly } from '../store/app-info-store';
import { closeConnection, duplicateProfile, openConnection } from '../store/profile-actions';
import { useTestResultsStore } from '../store/test-results-store';
import { editorIsDirty, useUiStore } from '../store/ui-store';
import type { OpenProfile } from '../store/use-open-profile';
import { ConnectionStateDot } from './ConnectionStateDot';
import { EnvironmentTag } from './EnvironmentTag';
import { ProfileEditor } from './ProfileEditor';
import { TestResultPanel } from './TestResultPanel';
import { TunnelStateTag } from './TunnelStateTag';
import { ErrorCallout } from './ErrorCallout';
import { FlightdeckError } from '../../../shared/errors';

interface Props {
  open: OpenProfile;
  summary?: ProfileSummary;
}

export function ProfileWorkspace({ open, summary }: Props) {
  const watchOnly = useWatchOnly();
  const editor = useUiStore((s) => s.editors[open.key]);
  const openDialog = useUiStore((s) => s.openDialog);
  // Flightdeck's own profiles (the sandbox's): the core refuses to save or delete them.
  const managed = summary?.managed ?? false;
  const dirty = !managed && editorIsDirty(editor, open.base);
  const connection = summary?.connection;
  const lastTest = useTestResultsStore((s) => (summary ? s.byProfile[summary.profile.id] : undefined));
  // A failed test also leaves the connection in 'error'; the test panel already tells that story.
  const connectionError =
    connection?.state === 'error' && connection.lastError && !(lastTest?.status === 'failed' && lastTest.error.code === connection.lastError.code)
      ? connection.lastError
      : undefined;
  const busy = connection?.state === 'open' || connection?.state === 'connecting';
  return (
    <div className={`workspace-profile env-${open.environment}`} data-testid="profile-workspace">
      <header className="workspace-header">
        <div className="workspace-title">
          <h1>{open.form.name || 'New connection'}</h1>
          <EnvironmentTag environment={open.environment} />
          {managed && <span className="sandbox-tag">sandbox</span>}
          {summary && (
            <span className="workspace-target mono">
              {engineLabels[summary.profile.engine]} · {hostPort(summary.profile.host, summary.profile.port)}
              {summary.profile.database ? ` / ${summary.profile.database}` : ''}
            </span>
          )}
        </div>
        {summary && connection && (
          <div className="workspace-actions">
            <span className="connection-state">
              <ConnectionStateDot connection={connection} /> {connection.state}
              {connection.tunnel && <TunnelStateTag tunnel={connection.tunnel} />}
            </span>
            {busy ? (
              <button type="button" className="button small" onClick={() => void closeConnection(summary.profile.id)}>
                Close
              </button>
            ) : (
              <button type="button" className="button small" onClick={() => void openConnection(summary.profile.id)}>
                Open
              </button>
            )}
            <button type="button" className="button small" disabled={watchOnly} onClick={() => void duplicateProfile(summary.profile.id)}>
              Duplicate
            </button>
            {!managed && (
              <button type="button" className="button small danger" disabled={watchOnly} onClick={() => openDialog({ kind: 'delete', profileId: summary.profile.id })}>
                Delete
              </button>
            )}
          </div>
        )}
      </header>
      {connectionError && <ErrorCallout error={FlightdeckError.fromShape(connectionError)} title="The connection failed" />}
      <div className="workspace-columns">
        <ProfileEditor key={open.key} editorKey={open.key} base={open.base} summary={summary} readOnly={watchOnly} managed={managed} />
        <TestResultPanel editorKey={open.key} summary={summary} dirty={dirty} />
      </div>
    </div>
  );
}

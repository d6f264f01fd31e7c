import { useWatchOnly } from '../store/app-info-store';
import { startSandbox } from '../store/profile-actions';
import { useProfilesStore } from '../store/profiles-store';
import { useSandboxStore } from '../store/sandbox-store';
import { useUiStore } from '../store/ui-store';
import { ErrorCallout } from './ErrorCallout';
import { FlightdeckError } from '../../../shared/errors';

/** What the workspace shows when there is no profile to open. */
export function EmptyState() {
  const sandbox = useSandboxStore((s) => s.sandbox);
  const loaded = useProfilesStore((s) => s.loaded);
  const listError = useProfilesStore((s) => s.error);
  const count = useProfilesStore((s) => s.summaries.length);
  const select = useUiStore((s) => s.select);
  const watchOnly = useWatchOnly();

  if (listError && !loaded) {
    return (
      <div className="empty-state">
        <ErrorCallout error={listError} title="Could not load the connection profiles" />
      </div>
    );
  }
  if (!loaded) {
    return (
      <div className="empty-state" role="status">
        <span className="spinner" aria-hidden="true" /> Loading profiles…
      </div>
    );
  }
  if (count > 0) {
    return (
      <div className="empty-state">
        <h2>Pick a connection</h2>
        <p className="muted">Choose a profile on the left to edit or test it.</p>
      </div>
    );
  }
  if (sandbox?.state === 'starting') {
    return (
      <div className="empty-state" role="status">
        <h2>
          <span className="spinner" aria-hidden="true" /> Starting the sandbox
        </h2>
        <p>A PostgreSQL primary with a streaming replica is being set up on this machine. Its profiles appear on the left when it is ready.</p>
        {sandbox.dataDir && <p className="muted mono">{sandbox.dataDir}</p>}
      </div>
    );
  }
  return (
    <div className="empty-state">
      <h2>No connections yet</h2>
      <p>Add a connection profile for a database you look after: PostgreSQL, MySQL / MariaDB or MongoDB, directly or through SSH.</p>
      <div className="empty-state-actions">
        <button type="button" className="button primary" disabled={watchOnly} onClick={() => select({ kind: 'new' })}>
          Add a connection
        </button>
        {(sandbox?.state === 'off' || sandbox?.state === 'failed') && (
          <button type="button" className="button" disabled={watchOnly} onClick={() => void startSandbox()}>
            Start the sandbox
          </button>
        )}
      </div>
      {sandbox?.state === 'failed' && sandbox.error && <ErrorCallout error={FlightdeckError.fromShape(sandbox.error)} title="The sandbox did not start" />}
      {watchOnly && <p className="muted">Watch-only: this cockpit cannot add profiles.</p>}
    </div>
  );
}

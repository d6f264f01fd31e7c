import { useState } from 'react';
import type { ProfileSummary } from '../../../shared/api';
import type { FlightdeckError } from '../../../shared/errors';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { formatDuration, sessionLabel } from '../format/health-format';
import type { Blocker } from '../health/lock-tree';
import { signalBackend } from '../store/health-actions';
import { useUiStore } from '../store/ui-store';
import { EnvironmentTag } from './EnvironmentTag';
import { ErrorCallout } from './ErrorCallout';
import { ModalDialog } from './ModalDialog';

interface Props {
  summary: ProfileSummary;
  action: 'cancel' | 'terminate';
  session: Blocker;
}

const effects = {
  cancel:
    'The statement it is running is cancelled; the session and its transaction stay open. A session that is idle in a transaction keeps its locks: terminate it to release them.',
  terminate:
    'The session is closed: its open transaction rolls back and every lock it holds is released. The application that owns it sees its connection drop.',
};
// MongoDB has no server-side "close this connection": an operation is killed (killOp), and a
// logical session ended (killSessions) aborts its transaction and releases its locks.
const mongoEffects = {
  cancel: 'The operation is killed (killOp); its session and any open transaction stay. A transaction keeps its locks: terminate to end it.',
  terminate: 'The operation is killed and its logical session ended (killSessions): the open transaction aborts and its locks are released. The application sees its operation fail.',
  idleSession: 'The logical session is ended (killSessions): its open transaction aborts and its locks are released. The application sees its next operation in the transaction fail.',
};

/** Confirms cancelling or terminating a server session. On production the profile's name must be
 * typed; the core checks it, so a slip is refused there and not only here. */
export function SignalBackendDialog({ summary, action, session }: Props) {
  const openDialog = useUiStore((s) => s.openDialog);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FlightdeckError>();
  const { profile } = summary;
  const production = profile.environment === 'production';
  const verb = action === 'cancel' ? 'Cancel query' : 'Terminate session';
  const label = sessionLabel(session, profile.engine);
  const close = () => openDialog(undefined);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await signalBackend(profile.id, session, action, production ? typed : undefined);
      close();
    } catch (e) {
      setError(asFlightdeckError(e));
      setBusy(false);
    }
  };
  return (
    <ModalDialog
      title={action === 'cancel' ? `Cancel the query of ${label}?` : `Terminate ${label}?`}
      tone={action === 'terminate' || production ? 'danger' : 'normal'}
      testId="signal-dialog"
      onClose={close}
      footer={
        <>
          <button type="button" className="button ghost" onClick={close}>
            Keep it
          </button>
          <button
            type="submit"
            form="signal-form"
            className={`button ${action === 'terminate' ? 'danger' : 'primary'}`}
            disabled={busy || (production && typed.trim() === '')}
          >
            {busy ? 'Signalling…' : verb}
          </button>
        </>
      }
    >
      <p>
        <EnvironmentTag environment={profile.environment} /> <strong>{profile.name}</strong>
      </p>
      <dl className="kv session-facts">
        <dt>Session</dt>
        <dd className="mono">{session.sessionId ?? label}</dd>
        <dt>User · app</dt>
        <dd>
          {session.user}
          {session.application && ` · ${session.application}`}
        </dd>
        <dt>State</dt>
        <dd>{session.state}</dd>
        <dt>Transaction</dt>
        <dd>open for {formatDuration(session.xactMs)}</dd>
      </dl>
      <pre className="dialog-query">{session.query || '(no query)'}</pre>
      <p className="muted">{profile.engine === 'mongodb' ? (session.sessionId ? mongoEffects.idleSession : mongoEffects[action]) : effects[action]}</p>
      <form
        id="signal-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy) void submit();
        }}
      >
        {production && (
          <div className="field">
            <label htmlFor="signal-confirm-name">
              This is a <strong>production</strong> server. Type the profile name, <span className="mono">{profile.name}</span>, to confirm.
            </label>
            <input id="signal-confirm-name" type="text" autoComplete="off" spellCheck={false} value={typed} onChange={(e) => setTyped(e.target.value)} />
          </div>
        )}
      </form>
      {error && <ErrorCallout error={error} title={`${verb} was refused`} />}
    </ModalDialog>
  );
}

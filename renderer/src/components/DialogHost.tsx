import { useProfilesStore } from '../store/profiles-store';
import { useUiStore } from '../store/ui-store';
import { DeleteProfileDialog } from './DeleteProfileDialog';
import { HostKeyDialog } from './HostKeyDialog';
import { SignalBackendDialog } from './SignalBackendDialog';

export function DialogHost() {
  const dialog = useUiStore((s) => s.dialog);
  const summaries = useProfilesStore((s) => s.summaries);
  if (!dialog) return null;
  if (dialog.kind === 'host-key') {
    return <HostKeyDialog key={dialog.challenge.challengeId} challenge={dialog.challenge} trusting={dialog.trusting} error={dialog.error} />;
  }
  const summary = summaries.find((s) => s.profile.id === dialog.profileId);
  if (dialog.kind === 'signal-backend') {
    return summary ? <SignalBackendDialog key={`${dialog.profileId}-${dialog.session.pid}-${dialog.action}`} summary={summary} action={dialog.action} session={dialog.session} /> : null;
  }
  return summary ? <DeleteProfileDialog key={summary.profile.id} summary={summary} /> : null;
}

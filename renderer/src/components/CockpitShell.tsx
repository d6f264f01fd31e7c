import { useProfileSummary } from '../store/profiles-store';
import { selectedProfileId, useUiStore } from '../store/ui-store';
import { useOpenProfile } from '../store/use-open-profile';
import { ActionNotice } from './ActionNotice';
import { CoreLinkBanner } from './CoreLinkBanner';
import { DialogHost } from './DialogHost';
import { EmptyState } from './EmptyState';
import { EnvironmentBand } from './EnvironmentBand';
import { ProfileSidebar } from './ProfileSidebar';
import { ProfileWorkspace } from './ProfileWorkspace';
import { StatusBar } from './StatusBar';

export function CockpitShell() {
  const selection = useUiStore((s) => s.selection);
  const summary = useProfileSummary(selectedProfileId(selection));
  const open = useOpenProfile();
  return (
    <div className={`cockpit env-${open?.environment ?? 'none'}`}>
      <EnvironmentBand />
      <CoreLinkBanner />
      <div className="cockpit-body">
        <ProfileSidebar />
        <main className="workspace">
          <ActionNotice />
          {open ? <ProfileWorkspace key={open.key} open={open} summary={summary} /> : <EmptyState />}
        </main>
      </div>
      <StatusBar />
      <DialogHost />
    </div>
  );
}

import { lazy, Suspense } from 'react';
import { healthEngines } from '../health/engines';
import { useHealthStore } from '../store/health-store';
import { useProfileSummary } from '../store/profiles-store';
import { selectedProfileId, useUiStore } from '../store/ui-store';
import { useOpenProfile } from '../store/use-open-profile';
import { ActionNotice } from './ActionNotice';
import { CoreLinkBanner } from './CoreLinkBanner';
import { DialogHost } from './DialogHost';
import { EmptyState } from './EmptyState';
import { EnvironmentBand } from './EnvironmentBand';
import { MigrationsView } from './MigrationsView';
import { PlanView } from './PlanView';
import { ProfileSidebar } from './ProfileSidebar';
import { ProfileWorkspace } from './ProfileWorkspace';
import { StatusBar } from './StatusBar';
import { WorkspaceTabs } from './WorkspaceTabs';

// The health panels and their charts load with the Health view, not with the window.
const HealthView = lazy(() => import('./HealthView').then((m) => ({ default: m.HealthView })));

export function CockpitShell() {
  const selection = useUiStore((s) => s.selection);
  const summary = useProfileSummary(selectedProfileId(selection));
  const open = useOpenProfile();
  const mode = useHealthStore((s) => s.mode);
  // Health needs a saved profile of an engine the core can sample; the rest only have settings.
  const healthAvailable = !!summary && healthEngines.has(summary.profile.engine);
  const showHealth = healthAvailable && mode === 'health';
  // Migrations and the plan work for every engine of a saved profile.
  const showMigrations = !!summary && mode === 'migrations';
  const showPlan = !!summary && mode === 'plan';
  return (
    <div className={`cockpit env-${open?.environment ?? 'none'}`}>
      <EnvironmentBand />
      <CoreLinkBanner />
      <div className="cockpit-body">
        <ProfileSidebar />
        <main className="workspace">
          {summary && <WorkspaceTabs engine={summary.profile.engine} />}
          <ActionNotice />
          {showHealth && summary ? (
            <Suspense
              fallback={
                <div className="health-waiting" role="status">
                  <span className="spinner" aria-hidden="true" /> Loading the health panels…
                </div>
              }
            >
              <HealthView summary={summary} />
            </Suspense>
          ) : showPlan && summary ? (
            <PlanView key={summary.profile.id} summary={summary} />
          ) : showMigrations && summary ? (
            <MigrationsView key={summary.profile.id} summary={summary} />
          ) : open ? (
            <ProfileWorkspace key={open.key} open={open} summary={summary} />
          ) : (
            <EmptyState />
          )}
        </main>
      </div>
      <StatusBar />
      <DialogHost />
    </div>
  );
}

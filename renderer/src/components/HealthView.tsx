import type { ProfileSummary } from '../../../shared/api';
import { useHealthStore } from '../store/health-store';
import { useProfilesStore } from '../store/profiles-store';
import { HealthTarget } from './HealthTarget';
import { HealthToolbar } from './HealthToolbar';

const none: string[] = [];

/** The live health cockpit of the selected profile, and of any profiles added beside it. */
export function HealthView({ summary }: { summary: ProfileSummary }) {
  const selectedId = summary.profile.id;
  const companions = useHealthStore((s) => s.companions[selectedId] ?? none);
  const removeCompanion = useHealthStore((s) => s.removeCompanion);
  const known = useProfilesStore((s) => s.summaries);
  const ids = [selectedId, ...companions.filter((id) => id !== selectedId && known.some((k) => k.profile.id === id))];
  return (
    <div className={`health-view targets-${Math.min(ids.length, 3)}`} data-testid="health-view">
      <HealthToolbar selectedId={selectedId} shownIds={ids} />
      <div className="health-targets">
        {ids.map((id) => (
          <HealthTarget key={id} profileId={id} onRemove={id === selectedId ? undefined : () => removeCompanion(selectedId, id)} />
        ))}
      </div>
    </div>
  );
}

import { engineLabels } from '../format/labels';
import { healthEngines } from '../health/engines';
import { useHealthStore } from '../store/health-store';
import { useProfilesStore } from '../store/profiles-store';

/** Puts another profile's panels beside the selected one's: a primary and its replica, say. */
export function AddTargetPicker({ selectedId, shownIds }: { selectedId: string; shownIds: string[] }) {
  const summaries = useProfilesStore((s) => s.summaries);
  const addCompanion = useHealthStore((s) => s.addCompanion);
  const candidates = summaries
    .filter((s) => healthEngines.has(s.profile.engine) && !shownIds.includes(s.profile.id))
    .sort((a, b) => a.profile.name.localeCompare(b.profile.name));
  if (!candidates.length) return null;
  return (
    <select
      className="add-target"
      aria-label="Show another profile beside this one"
      value=""
      onChange={(e) => {
        if (e.target.value) addCompanion(selectedId, e.target.value);
      }}
    >
      <option value="">+ Add a target side by side…</option>
      {candidates.map((s) => (
        <option key={s.profile.id} value={s.profile.id}>
          {s.profile.name} ({engineLabels[s.profile.engine]}, {s.profile.environment})
        </option>
      ))}
    </select>
  );
}

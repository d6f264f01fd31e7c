import { useHealthStore, type WorkspaceMode } from '../store/health-store';

const tabs: { mode: WorkspaceMode; label: string }[] = [
  { mode: 'connection', label: 'Connection' },
  { mode: 'health', label: 'Health' },
  { mode: 'migrations', label: 'Migrations' },
];

/** Switches the workspace between the profile's connection settings and its live health panels. */
export function WorkspaceTabs() {
  const mode = useHealthStore((s) => s.mode);
  const setMode = useHealthStore((s) => s.setMode);
  return (
    <div className="workspace-tabs" role="tablist" aria-label="Profile view">
      {tabs.map((t) => (
        <button key={t.mode} type="button" role="tab" className="workspace-tab" aria-selected={mode === t.mode} onClick={() => setMode(t.mode)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

import type { Engine } from '../../../shared/profile';
import { healthEngines } from '../health/engines';
import { useHealthStore, type WorkspaceMode } from '../store/health-store';

const tabs: { mode: WorkspaceMode; label: string }[] = [
  { mode: 'connection', label: 'Connection' },
  { mode: 'health', label: 'Health' },
  { mode: 'migrations', label: 'Migrations' },
  { mode: 'plan', label: 'Plan' },
];

/** Switches the workspace between the profile's settings, its live health panels (engines the core
 * samples), its migrations (status, runner, Phase 0) and the Phase 1 plan. */
export function WorkspaceTabs({ engine }: { engine: Engine }) {
  const mode = useHealthStore((s) => s.mode);
  const setMode = useHealthStore((s) => s.setMode);
  return (
    <div className="workspace-tabs" role="tablist" aria-label="Profile view">
      {tabs.filter((t) => t.mode !== 'health' || healthEngines.has(engine)).map((t) => (
        <button key={t.mode} type="button" role="tab" className="workspace-tab" aria-selected={mode === t.mode} onClick={() => setMode(t.mode)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

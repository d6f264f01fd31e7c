// Connects the stores to the core: loads everything once, keeps it current from events, and
// reloads after the socket comes back, because events sent while it was down are gone.
import type { Core } from '../api/connect-core';
import { useAppInfoStore } from './app-info-store';
import { setApi } from './core-api';
import { onMonitorState, releaseAllOnExit, resyncTargets } from './health-actions';
import { useHealthStore } from './health-store';
import { useLinkStore } from './link-store';
import { useMarkersStore } from './markers-store';
import { useProfilesStore } from './profiles-store';
import { useSandboxStore } from './sandbox-store';
import { useUiStore } from './ui-store';
import { useWindowStore } from './window-store';

export function bindCore(core: Core): void {
  setApi(core.api);
  useLinkStore.getState().setLink(core.link.current());

  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  // A tunnel flapping sends bursts of state events; one list refresh per burst is enough.
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void useProfilesStore.getState().refresh(), 150);
  };

  const loadAll = async () => {
    await Promise.all([useAppInfoStore.getState().load(), useProfilesStore.getState().refresh(), useSandboxStore.getState().load(), useMarkersStore.getState().load()]);
    const ui = useUiStore.getState();
    const first = useProfilesStore.getState().summaries[0];
    if (ui.selection.kind === 'none' && first) ui.select({ kind: 'profile', id: first.profile.id });
  };

  let dropped = false;
  core.link.watch((state) => {
    useLinkStore.getState().setLink(state);
    if (state.state === 'open' && dropped) {
      dropped = false;
      void loadAll();
      resyncTargets();
    } else if (state.state === 'down') {
      dropped = true;
    }
  });

  core.api.on('connections/state', (state) => {
    useProfilesStore.getState().applyConnectionState(state);
    refreshSoon();
  });
  core.api.on('sandbox/state', (sandbox) => {
    useSandboxStore.getState().set(sandbox);
    refreshSoon();
  });

  core.api.on('phase0/report', ({ productionId, report }) => useWindowStore.getState().patch(productionId, { phase0: report }));
  core.api.on('task/progress', (p) => {
    if (!p.taskId.startsWith('migrate:')) return;
    const profileId = p.taskId.slice('migrate:'.length);
    useWindowStore.getState().patch(profileId, {
      progress: p.state === 'running' ? { fraction: p.fraction, label: p.label, ...(p.rate ? { rate: `${p.rate.value} ${p.rate.unit}` } : {}), ...(p.etaMs !== undefined ? { etaMs: p.etaMs } : {}) } : undefined,
    });
  });

  core.api.on('monitor/sample', (sample) => useHealthStore.getState().applySample(sample));
  core.api.on('monitor/marker', (marker) => useMarkersStore.getState().add(marker));
  core.api.on('monitor/state', onMonitorState);
  window.addEventListener('pagehide', releaseAllOnExit);

  void loadAll();
}

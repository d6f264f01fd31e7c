// What the Migrations view's buttons do: read the set and the database's status, run Phase 0 (or
// one check again), confirm attestations and accept medium risks, and run or force migrations.
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { api } from './core-api';
import { useWindowStore } from './window-store';

const store = () => useWindowStore.getState();

export async function inspectMigrations(profileId: string): Promise<void> {
  const w = store().ensure(profileId);
  if (!w.settings.migrationsDir.trim()) return;
  store().patch(profileId, { inspecting: true, inspectError: undefined });
  try {
    const inspected = await api().migrations.inspect({ profileId, dir: w.settings.migrationsDir.trim() });
    store().patch(profileId, { inspected, inspecting: false });
  } catch (e) {
    store().patch(profileId, { inspectError: asFlightdeckError(e), inspecting: false, inspected: undefined });
  }
}

export async function runPhase0(profileId: string, only?: string[]): Promise<void> {
  const w = store().ensure(profileId);
  store().patch(profileId, { phase0Running: true, phase0Error: undefined });
  try {
    const report = await api().phase0.run({
      productionId: profileId,
      ...(w.settings.stagingId ? { stagingId: w.settings.stagingId } : {}),
      ...(w.settings.migrationsDir.trim() ? { migrationsDir: w.settings.migrationsDir.trim() } : {}),
      ...(w.settings.backupDir.trim() ? { backupDir: w.settings.backupDir.trim() } : {}),
      ...(w.settings.pgbouncerId ? { pgbouncerProfileId: w.settings.pgbouncerId } : {}),
      ...(only ? { only } : {}),
    });
    store().patch(profileId, { phase0: report, phase0Running: false });
  } catch (e) {
    store().patch(profileId, { phase0Error: asFlightdeckError(e), phase0Running: false });
  }
}

export async function loadPhase0(profileId: string): Promise<void> {
  try {
    const report = await api().phase0.report({ productionId: profileId });
    if (report) store().patch(profileId, { phase0: report });
  } catch {
    // Nothing to show yet.
  }
}

export async function attestCheck(profileId: string, checkId: string, by: string): Promise<void> {
  try {
    store().patch(profileId, { phase0: await api().phase0.attest({ productionId: profileId, checkId, by }), phase0Error: undefined });
  } catch (e) {
    store().patch(profileId, { phase0Error: asFlightdeckError(e) });
  }
}

export async function acceptCheck(profileId: string, checkId: string, by: string, reason: string): Promise<void> {
  try {
    store().patch(profileId, { phase0: await api().phase0.accept({ productionId: profileId, checkId, by, reason }), phase0Error: undefined });
  } catch (e) {
    store().patch(profileId, { phase0Error: asFlightdeckError(e) });
  }
}

export async function runMigrations(profileId: string, action: 'up' | 'down', confirm?: string): Promise<void> {
  const w = store().ensure(profileId);
  store().patch(profileId, { running: action, runError: undefined, progress: undefined });
  try {
    const lastRun = await api().migrations.run({ profileId, dir: w.settings.migrationsDir.trim(), action, ...(action === 'down' ? { steps: 1 } : {}), ...(confirm ? { confirm } : {}) });
    store().patch(profileId, { lastRun, running: undefined });
  } catch (e) {
    store().patch(profileId, { runError: asFlightdeckError(e), running: undefined });
  }
  await inspectMigrations(profileId);
}

export async function cancelMigrations(profileId: string): Promise<void> {
  await api().migrations.cancel({ profileId });
}

export async function forceVersion(profileId: string, version: number, confirm?: string): Promise<void> {
  const w = store().ensure(profileId);
  store().patch(profileId, { running: 'force', runError: undefined });
  try {
    await api().migrations.force({ profileId, dir: w.settings.migrationsDir.trim(), version, ...(confirm ? { confirm } : {}) });
    store().patch(profileId, { running: undefined });
  } catch (e) {
    store().patch(profileId, { runError: asFlightdeckError(e), running: undefined });
  }
  await inspectMigrations(profileId);
}

export async function buildPlan(profileId: string): Promise<void> {
  const w = store().ensure(profileId);
  store().patch(profileId, { planning: true, planError: undefined });
  try {
    const plan = await api().plan.build({
      productionId: profileId,
      dir: w.settings.migrationsDir.trim(),
      ...(w.settings.stagingId ? { stagingId: w.settings.stagingId } : {}),
      trace: w.planOptions.trace,
      risk: w.planOptions.risk,
      downtime: w.planOptions.downtime,
    });
    store().patch(profileId, { plan, planning: false });
  } catch (e) {
    store().patch(profileId, { planError: asFlightdeckError(e), planning: false });
  }
}

export async function showFile(profileId: string, file: string, line: number): Promise<void> {
  const w = store().ensure(profileId);
  store().patch(profileId, { viewing: { file, line } });
  try {
    const { text } = await api().plan.file({ dir: w.settings.migrationsDir.trim(), file });
    store().patch(profileId, { viewing: { file, line, text } });
  } catch (e) {
    store().patch(profileId, { viewing: { file, line, error: asFlightdeckError(e) } });
  }
}

// What the cockpit's buttons do. Each action talks to the core, then brings the stores in line with
// what the core now holds; failures land where the user is looking (the editor, the test panel,
// the dialog, or the workspace notice), never in the console alone.
import { hostKeyChallengeSchema, type HostKeyChallenge } from '../../../shared/api';
import { FlightdeckError } from '../../../shared/errors';
import type { SecretKind } from '../../../shared/profile';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { issuesFromError, validateForm } from '../profile-form/field-issues';
import { formToDraft, secretKindsFor } from '../profile-form/profile-form';
import { useAppInfoStore } from './app-info-store';
import { api } from './core-api';
import { useProfilesStore } from './profiles-store';
import { useSandboxStore } from './sandbox-store';
import { useTestResultsStore } from './test-results-store';
import { newEditorKey, useUiStore, type EditorKey } from './ui-store';
import { useNoticeStore } from './notice-store';

/** Saves the editor's profile and secrets; returns the saved profile's id, or undefined. */
export async function saveEditor(key: EditorKey): Promise<string | undefined> {
  const ui = useUiStore.getState();
  const editor = ui.editors[key];
  if (!editor) return key === newEditorKey ? undefined : key;
  if (Object.keys(validateForm(editor.form)).length > 0) {
    ui.patchEditor(key, { attempted: true });
    return undefined;
  }
  ui.patchEditor(key, { saving: true, attempted: true, saveError: undefined, serverIssues: {} });

  // A secret typed for an auth method the user then switched away from is not sent; clearing is.
  const usable = new Set<SecretKind>(secretKindsFor(editor.form));
  const secrets: Partial<Record<SecretKind, string | null>> = {};
  for (const [kind, value] of Object.entries(editor.secrets) as [SecretKind, string | null][]) {
    if (value === null || usable.has(kind)) secrets[kind] = value;
  }

  try {
    const summary = await api().profiles.save({
      profile: formToDraft(editor.form),
      ...(Object.keys(secrets).length ? { secrets } : {}),
    });
    const id = summary.profile.id;
    useProfilesStore.setState((s) => ({
      summaries: s.summaries.some((p) => p.profile.id === id)
        ? s.summaries.map((p) => (p.profile.id === id ? summary : p))
        : [...s.summaries, summary],
    }));
    const after = useUiStore.getState();
    after.setEditor(key, undefined);
    if (key === newEditorKey) after.select({ kind: 'profile', id });
    void useProfilesStore.getState().refresh();
    return id;
  } catch (e) {
    const err = asFlightdeckError(e);
    const serverIssues = issuesFromError(err);
    useUiStore.getState().patchEditor(key, { saving: false, serverIssues: serverIssues ?? {}, saveError: err });
    return undefined;
  }
}

export function hostKeyChallengeOf(err: FlightdeckError): HostKeyChallenge | undefined {
  if (err.code !== 'SSH_HOSTKEY_UNKNOWN' || !err.details) return undefined;
  const direct = hostKeyChallengeSchema.safeParse(err.details);
  if (direct.success) return direct.data;
  const nested = hostKeyChallengeSchema.safeParse(err.details.challenge);
  return nested.success ? nested.data : undefined;
}

export async function testProfile(profileId: string): Promise<void> {
  const results = useTestResultsStore.getState();
  if (results.byProfile[profileId]?.status === 'running') return;
  // The write probe creates and drops an object; a watch-only cockpit must not even do that.
  const writeProbe = !(useAppInfoStore.getState().info?.watchOnly ?? true);
  results.record(profileId, { status: 'running', startedAt: Date.now() });
  try {
    const result = await api().connections.test({ id: profileId, writeProbe });
    useTestResultsStore.getState().record(profileId, { status: 'passed', result, at: Date.now() });
  } catch (e) {
    const error = asFlightdeckError(e);
    useTestResultsStore.getState().record(profileId, { status: 'failed', error, at: Date.now() });
    const challenge = hostKeyChallengeOf(error);
    if (challenge) useUiStore.getState().openDialog({ kind: 'host-key', profileId, challenge, trusting: false });
  }
}

/** Saves pending edits first, so the test runs against what the form shows. */
export async function saveAndTest(key: EditorKey): Promise<void> {
  const id = await saveEditor(key);
  if (id) await testProfile(id);
}

export async function trustHostKeyAndRetest(): Promise<void> {
  const ui = useUiStore.getState();
  const dialog = ui.dialog;
  if (dialog?.kind !== 'host-key' || dialog.trusting) return;
  ui.openDialog({ ...dialog, trusting: true, error: undefined });
  try {
    await api().ssh.trustHostKey({ challengeId: dialog.challenge.challengeId });
  } catch (e) {
    useUiStore.getState().openDialog({ ...dialog, trusting: false, error: asFlightdeckError(e) });
    return;
  }
  useUiStore.getState().openDialog(undefined);
  await testProfile(dialog.profileId);
}

export async function deleteProfile(profileId: string): Promise<void> {
  try {
    await api().profiles.delete({ id: profileId });
  } catch (e) {
    useNoticeStore.getState().show(asFlightdeckError(e));
    return;
  }
  const ui = useUiStore.getState();
  ui.openDialog(undefined);
  ui.setEditor(profileId, undefined);
  if (ui.selection.kind === 'profile' && ui.selection.id === profileId) ui.select({ kind: 'none' });
  useTestResultsStore.getState().forget(profileId);
  useProfilesStore.setState((s) => ({ summaries: s.summaries.filter((p) => p.profile.id !== profileId) }));
  await useProfilesStore.getState().refresh();
}

export async function duplicateProfile(profileId: string): Promise<void> {
  try {
    const copy = await api().profiles.duplicate({ id: profileId });
    await useProfilesStore.getState().refresh();
    useUiStore.getState().select({ kind: 'profile', id: copy.profile.id });
  } catch (e) {
    useNoticeStore.getState().show(asFlightdeckError(e));
  }
}

export async function openConnection(profileId: string): Promise<void> {
  try {
    const state = await api().connections.open({ id: profileId });
    useProfilesStore.getState().applyConnectionState(state);
  } catch (e) {
    useNoticeStore.getState().show(asFlightdeckError(e));
  }
}

export async function closeConnection(profileId: string): Promise<void> {
  try {
    const state = await api().connections.close({ id: profileId });
    useProfilesStore.getState().applyConnectionState(state);
  } catch (e) {
    useNoticeStore.getState().show(asFlightdeckError(e));
  }
}

export async function startSandbox(): Promise<void> {
  try {
    useSandboxStore.getState().set(await api().sandbox.start());
    await useProfilesStore.getState().refresh();
  } catch (e) {
    useNoticeStore.getState().show(asFlightdeckError(e));
  }
}

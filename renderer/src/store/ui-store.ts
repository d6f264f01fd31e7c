// What the user is looking at and editing. Unsaved edits are kept per profile, so clicking another
// profile in the sidebar and coming back does not throw away what was typed.
import { create } from 'zustand';
import type { HostKeyChallenge } from '../../../shared/api';
import type { FlightdeckError } from '../../../shared/errors';
import type { LocksPanel } from '../../../shared/monitor';
import type { FieldIssues } from '../profile-form/field-issues';
import { sameForm, type ProfileForm, type SecretEdits } from '../profile-form/profile-form';

export type Selection = { kind: 'none' } | { kind: 'new' } | { kind: 'profile'; id: string };

/** 'new' for the profile being added, otherwise the profile's id. */
export type EditorKey = string;
export const newEditorKey: EditorKey = 'new';

export interface EditorState {
  form: ProfileForm;
  secrets: SecretEdits;
  /** Field errors the core returned on the last save. */
  serverIssues: FieldIssues;
  saveError?: FlightdeckError;
  saving: boolean;
  /** Fields the user has changed; their local errors show from then on. */
  touched: string[];
  /** A save was tried: every local error shows. */
  attempted: boolean;
}

export type Dialog =
  | { kind: 'delete'; profileId: string }
  | { kind: 'host-key'; profileId: string; challenge: HostKeyChallenge; trusting: boolean; error?: FlightdeckError }
  | { kind: 'signal-backend'; profileId: string; action: 'cancel' | 'terminate'; session: LocksPanel['blockers'][number] };

interface UiStore {
  selection: Selection;
  editors: Record<EditorKey, EditorState>;
  dialog?: Dialog;
  select(selection: Selection): void;
  setEditor(key: EditorKey, editor: EditorState | undefined): void;
  patchEditor(key: EditorKey, patch: Partial<EditorState>): void;
  openDialog(dialog: Dialog | undefined): void;
}

export const useUiStore = create<UiStore>()((set) => ({
  selection: { kind: 'none' },
  editors: {},
  select: (selection) => set({ selection }),
  setEditor: (key, editor) =>
    set((s) => {
      const { [key]: _old, ...rest } = s.editors;
      return { editors: editor ? { ...rest, [key]: editor } : rest };
    }),
  patchEditor: (key, patch) =>
    set((s) => {
      const current = s.editors[key];
      return current ? { editors: { ...s.editors, [key]: { ...current, ...patch } } } : {};
    }),
  openDialog: (dialog) => set({ dialog }),
}));

export function selectedProfileId(selection: Selection): string | undefined {
  return selection.kind === 'profile' ? selection.id : undefined;
}

export function editorIsDirty(editor: EditorState | undefined, base: ProfileForm): boolean {
  if (!editor) return false;
  return !sameForm(editor.form, base) || Object.keys(editor.secrets).length > 0;
}

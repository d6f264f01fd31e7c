// Binds the editor's fields to the ui store: reads the working copy (or the saved profile when
// nothing was edited), writes changes, and decides which field errors to show.
import { useMemo } from 'react';
import type { SecretKind } from '../../../shared/profile';
import { editorIsDirty, useUiStore, type EditorKey, type EditorState } from '../store/ui-store';
import { validateForm } from './field-issues';
import type { ProfileForm } from './profile-form';

function getIn(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setIn<T>(obj: T, path: string, value: unknown): T {
  const [head, ...rest] = path.split('.');
  const copy = { ...(obj as Record<string, unknown>) };
  copy[head!] = rest.length ? setIn(copy[head!], rest.join('.'), value) : value;
  return copy as T;
}

/** The form keeps the jump host beside the SSH hop; the schema nests it under ssh.jump. */
function issueKey(formPath: string): string {
  return formPath.startsWith('jump.') ? `ssh.${formPath}` : formPath;
}

export function fieldId(path: string): string {
  return `pf-${path.replace(/\./g, '-')}`;
}

export interface FieldBinding<V> {
  id: string;
  value: V;
  error?: string;
  onChange(value: V): void;
}

export function useProfileEditor(key: EditorKey, base: ProfileForm) {
  const editor = useUiStore((s) => s.editors[key]);
  const setEditor = useUiStore((s) => s.setEditor);
  const form = editor?.form ?? base;
  const secrets = editor?.secrets ?? {};
  const localIssues = useMemo(() => validateForm(form), [form]);

  const current = (): EditorState =>
    useUiStore.getState().editors[key] ?? { form: base, secrets: {}, serverIssues: {}, saving: false, touched: [], attempted: false };

  const update = (change: (e: EditorState) => Partial<EditorState>) => {
    const e = current();
    setEditor(key, { ...e, ...change(e) });
  };

  const setForm = (next: (f: ProfileForm) => ProfileForm) => update((e) => ({ form: next(e.form) }));

  const errorFor = (path: string): string | undefined => {
    const k = issueKey(path);
    const server = editor?.serverIssues[k];
    if (server) return server;
    const show = editor?.attempted || editor?.touched.includes(path);
    return show ? localIssues[k] : undefined;
  };

  function bind<V>(path: string): FieldBinding<V> {
    return {
      id: fieldId(path),
      value: getIn(form, path) as V,
      error: errorFor(path),
      // A field's own error shows once it has been changed, not when it loses focus: an error
      // appearing on blur moves the layout under a click that is already on its way to Save.
      onChange: (value: V) =>
        update((e) => {
          const { [issueKey(path)]: _stale, ...serverIssues } = e.serverIssues;
          const touched = e.touched.includes(path) ? e.touched : [...e.touched, path];
          return { form: setIn(e.form, path, value), serverIssues, touched };
        }),
    };
  }

  /** A string sets the secret on save, null clears it, undefined drops the pending edit. */
  const setSecret = (kind: SecretKind, value: string | null | undefined) =>
    update((e) => {
      const { [kind]: _old, ...rest } = e.secrets;
      return { secrets: value === undefined ? rest : { ...rest, [kind]: value } };
    });

  return {
    editor,
    form,
    secrets,
    dirty: editorIsDirty(editor, base),
    hasLocalIssues: Object.keys(localIssues).length > 0,
    bind,
    setForm,
    setSecret,
    secretError: (kind: SecretKind) => editor?.serverIssues[`secrets.${kind}`],
    revert: () => setEditor(key, undefined),
  };
}

export type ProfileEditorBinding = ReturnType<typeof useProfileEditor>;

// The profile the user has open, as the editor currently shows it: the environment band follows
// the form, so switching a profile to "production" turns the window red before it is saved.
import { useMemo } from 'react';
import type { Environment } from '../../../shared/profile';
import { newProfileForm, profileToForm, type ProfileForm } from '../profile-form/profile-form';
import { useProfileSummary } from './profiles-store';
import { newEditorKey, selectedProfileId, useUiStore } from './ui-store';

export interface OpenProfile {
  key: string;
  base: ProfileForm;
  form: ProfileForm;
  environment: Environment;
}

const blankForm = newProfileForm();

export function useOpenProfile(): OpenProfile | undefined {
  const selection = useUiStore((s) => s.selection);
  const summary = useProfileSummary(selectedProfileId(selection));
  const key = selection.kind === 'new' ? newEditorKey : summary?.profile.id;
  const editor = useUiStore((s) => (key ? s.editors[key] : undefined));
  const base = useMemo(() => (summary ? profileToForm(summary.profile) : blankForm), [summary?.profile]);
  if (!key) return undefined;
  const form = editor?.form ?? base;
  return { key, base, form, environment: form.environment };
}

// Field errors keyed by the profile path they belong to ("host", "ssh.port", "secrets.db-password").
// The same keys come from two places: the shared schema run here as the user types, and the core's
// INVALID_INPUT details.issues ("profile.ssh.port") when it refuses a save.
import type { z } from 'zod';
import { profileDraftSchema } from '../../../shared/profile';
import type { FlightdeckError } from '../../../shared/errors';
import { formToDraft, type ProfileForm } from './profile-form';

export type FieldIssues = Record<string, string>;

function friendly(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'Required';
      if (issue.origin === 'number') return `Must be at least ${String(issue.minimum)}`;
      return issue.message;
    case 'too_big':
      if (issue.origin === 'number') return `Must be at most ${String(issue.maximum)}`;
      if (issue.origin === 'string') return `At most ${String(issue.maximum)} characters`;
      return issue.message;
    case 'invalid_type':
      if (issue.expected === 'number') return 'Enter a number';
      if (issue.expected === 'int') return 'Enter a whole number';
      return issue.message;
    default:
      return issue.message;
  }
}

export function validateForm(form: ProfileForm): FieldIssues {
  const parsed = profileDraftSchema.safeParse(formToDraft(form));
  const issues: FieldIssues = {};
  if (parsed.success) return issues;
  for (const issue of parsed.error.issues) {
    const key = issue.path.map(String).join('.');
    issues[key] ??= friendly(issue);
  }
  return issues;
}

/** The core's issues, re-keyed to the editor's field paths; undefined when it is not a field error. */
export function issuesFromError(err: FlightdeckError): FieldIssues | undefined {
  if (err.code !== 'INVALID_INPUT') return undefined;
  const raw = err.details?.issues;
  if (!Array.isArray(raw)) return undefined;
  const issues: FieldIssues = {};
  for (const item of raw) {
    if (!item || typeof item !== 'object') continue;
    const { path, message } = item as { path?: unknown; message?: unknown };
    if (typeof path !== 'string' || typeof message !== 'string') continue;
    const key = path.replace(/^profile\./, '');
    issues[key] ??= message;
  }
  return Object.keys(issues).length ? issues : undefined;
}

import type { ProfileSummary } from '../../../shared/api';
import type { ProfileForm } from '../profile-form/profile-form';
import { useProfileEditor } from '../profile-form/use-profile-editor';
import { useAppInfoStore } from '../store/app-info-store';
import { saveEditor } from '../store/profile-actions';
import type { EditorKey } from '../store/ui-store';
import { ConnectionSection } from './ConnectionSection';
import { ErrorCallout } from './ErrorCallout';
import { MongoOptionsSection } from './MongoOptionsSection';
import { SshSection } from './SshSection';
import { TlsSection } from './TlsSection';

interface Props {
  editorKey: EditorKey;
  base: ProfileForm;
  summary?: ProfileSummary;
  readOnly: boolean;
}

export function ProfileEditor({ editorKey, base, summary, readOnly }: Props) {
  const binding = useProfileEditor(editorKey, base);
  const { editor, form, dirty, hasLocalIssues, revert } = binding;
  const secretStorage = useAppInfoStore((s) => s.info?.secretStorage);
  const isNew = summary === undefined;
  const serverRefusedFields = editor && Object.keys(editor.serverIssues).length > 0;
  return (
    <form
      className="profile-editor"
      aria-label="Profile editor"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!readOnly) void saveEditor(editorKey);
      }}
    >
      <div className="profile-editor-sections">
        <ConnectionSection binding={binding} summary={summary} readOnly={readOnly} />
        {form.engine === 'mongodb' && <MongoOptionsSection binding={binding} readOnly={readOnly} />}
        <TlsSection binding={binding} readOnly={readOnly} />
        <SshSection binding={binding} summary={summary} readOnly={readOnly} />
        {secretStorage && !secretStorage.persistent && (
          <p className="secret-storage-note">
            Passwords and passphrases are kept by <strong>{secretStorage.backend}</strong> and are not persistent
            {secretStorage.reason ? `: ${secretStorage.reason}` : '.'}
          </p>
        )}
      </div>
      <footer className="save-bar">
        {editor?.saveError && !serverRefusedFields && <ErrorCallout error={editor.saveError} title="Not saved" />}
        {serverRefusedFields && <div className="save-bar-status error">The core refused the profile; see the highlighted fields.</div>}
        {!serverRefusedFields && editor?.attempted && hasLocalIssues && (
          <div className="save-bar-status error">Fix the highlighted fields to save.</div>
        )}
        <div className="save-bar-actions">
          <span className="save-bar-status">
            {readOnly ? 'Watch-only: profiles cannot be changed' : editor?.saving ? 'Saving…' : dirty || isNew ? 'Unsaved changes' : 'Saved'}
          </span>
          {!isNew && (
            <button type="button" className="button ghost" disabled={!dirty || readOnly || editor?.saving} onClick={revert}>
              Revert
            </button>
          )}
          <button type="submit" className="button primary" disabled={readOnly || editor?.saving || (!dirty && !isNew)}>
            {isNew ? 'Save profile' : 'Save'}
          </button>
        </div>
      </footer>
    </form>
  );
}

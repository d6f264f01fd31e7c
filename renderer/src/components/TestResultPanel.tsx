import { useEffect, useState } from 'react';
import type { ProfileSummary } from '../../../shared/api';
import { formatClock } from '../format/labels';
import { useAppInfoStore } from '../store/app-info-store';
import { saveAndTest, testProfile } from '../store/profile-actions';
import { useTestResultsStore } from '../store/test-results-store';
import type { EditorKey } from '../store/ui-store';
import { TestErrorDetails } from './TestErrorDetails';
import { TestResultDetails } from './TestResultDetails';

interface Props {
  editorKey: EditorKey;
  summary?: ProfileSummary;
  /** Unsaved edits: the test saves them first, so it tests what the form shows. */
  dirty: boolean;
}

function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, []);
  return <span className="mono">{((now - since) / 1000).toFixed(1)} s</span>;
}

export function TestResultPanel({ editorKey, summary, dirty }: Props) {
  const profileId = summary?.profile.id;
  const run = useTestResultsStore((s) => (profileId ? s.byProfile[profileId] : undefined));
  const watchOnly = useAppInfoStore((s) => s.info?.watchOnly ?? true);
  const running = run?.status === 'running';
  const mustSave = dirty || !summary;
  const label = running ? 'Testing…' : mustSave ? 'Save & test' : 'Test connection';
  return (
    <section className="test-panel" aria-label="Connection test">
      <header className="test-panel-header">
        <h3>Connection test</h3>
        {run && run.status !== 'running' && <span className="muted small">at {formatClock(run.at)}</span>}
        <button
          type="button"
          className="button primary"
          data-testid="test-button"
          disabled={running || (mustSave && watchOnly)}
          onClick={() => void (mustSave ? saveAndTest(editorKey) : profileId && testProfile(profileId))}
        >
          {label}
        </button>
      </header>
      {watchOnly && <p className="muted small">Watch-only: the test reads but skips the write probe.</p>}
      {!run && (
        <p className="muted">
          Connects{summary?.profile.ssh ? ' through the SSH tunnel' : ''}, reports the server version, the user and its
          privileges, and probes a read{watchOnly ? '' : ' and a write (a temporary object, dropped again)'}.
        </p>
      )}
      {running && (
        <div className="test-running" role="status">
          <span className="spinner" aria-hidden="true" /> Connecting… <Elapsed since={run.startedAt} />
        </div>
      )}
      {run?.status === 'passed' && <TestResultDetails result={run.result} />}
      {run?.status === 'failed' && profileId && <TestErrorDetails error={run.error} profileId={profileId} />}
    </section>
  );
}

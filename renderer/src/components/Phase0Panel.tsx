import type { Phase0Report } from '../../../shared/checks';
import { CheckRow } from './CheckRow';

interface Props {
  profileId: string;
  report: Phase0Report;
  running: boolean;
}

const verdictLabels: Record<Phase0Report['gate']['verdict'], string> = {
  pass: 'Pass: the window may proceed',
  'pass-with-accepted-risks': 'Proceed with caution',
  'accept-or-fix': 'Fix, or accept with a reason',
  'fix-first': 'Fix before proceeding',
  stop: 'STOP: do not proceed',
  incomplete: 'Checks still running',
};

/** Phase 0's gate, then every check with its severity, status and evidence, in the order it runs. */
export function Phase0Panel({ profileId, report, running }: Props) {
  const done = report.checks.filter((c) => c.status !== 'queued' && c.status !== 'running').length;
  return (
    <div className="phase0" data-testid="phase0">
      <div className={`gate gate-${report.gate.verdict}`} role="status" data-testid="gate" data-verdict={report.gate.verdict}>
        <div className="gate-verdict">{verdictLabels[report.gate.verdict]}</div>
        <div className="gate-message">{report.gate.message}</div>
        {running && (
          <div className="gate-progress">
            <progress max={report.checks.length} value={done} /> {done} of {report.checks.length} checks
          </div>
        )}
      </div>
      <div className="phase0-targets small muted">
        production {report.production}
        {report.staging ? ` · staging ${report.staging}` : ' · no staging'}
        {report.migrations ? ` · ${report.migrations}` : ''}
      </div>
      <ol className="check-list">
        {report.checks.map((c) => (
          <CheckRow key={c.id} profileId={profileId} check={c} disabled={running} />
        ))}
      </ol>
    </div>
  );
}

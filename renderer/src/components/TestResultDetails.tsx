import type { ReactNode } from 'react';
import type { TestResult } from '../../../shared/api';
import { engineLabels, formatMs } from '../format/labels';

function Row({ label, children, mono }: { label: string; children: ReactNode; mono?: boolean }) {
  return (
    <>
      <dt>{label}</dt>
      <dd className={mono ? 'mono' : undefined}>{children}</dd>
    </>
  );
}

const probeWords = { ok: 'ok', failed: 'failed', skipped: 'skipped' } as const;

/** "16.4 (Debian 16.4-1.pgdg120+1)" → the number large, the packaging note beside it. */
function splitVersion(v: string): [string, string] {
  const at = v.search(/\s/);
  return at < 0 ? [v, ''] : [v.slice(0, at), v.slice(at)];
}

export function TestResultDetails({ result }: { result: TestResult }) {
  const { ssh } = result.via;
  const [versionNumber, versionNote] = splitVersion(result.serverVersion);
  const attributes = Object.entries(result.attributes);
  return (
    <div className="test-result" data-testid="test-result">
      <div className="server-version">
        <span className="server-version-engine">{engineLabels[result.engine]}</span>
        <span className="server-version-text" data-testid="server-version">
          <span className="server-version-number">{versionNumber}</span>
          {versionNote && <span className="server-version-note">{versionNote}</span>}
        </span>
      </div>
      <div className="version-banner mono" title={result.versionBanner}>
        {result.versionBanner}
      </div>
      <dl className="kv">
        <Row label="Current user" mono>
          {result.currentUser}
        </Row>
        {result.sessionUser !== undefined && result.sessionUser !== result.currentUser && (
          <Row label="Session user" mono>
            {result.sessionUser}
          </Row>
        )}
        <Row label="Database" mono>
          {result.database || '—'}
        </Row>
        {result.inRecovery !== undefined && (
          <Row label="Role">
            {result.inRecovery ? <span className="pill replica">replica (in recovery, read-only)</span> : <span className="pill">primary</span>}
          </Row>
        )}
        <Row label="TLS">
          {result.tls.enabled ? (
            <span className="pill ok">
              on{result.tls.protocol ? ` · ${result.tls.protocol}` : ''}
              {result.tls.cipher ? ` · ${result.tls.cipher}` : ''}
            </span>
          ) : (
            <span className="pill warn">off — traffic is not encrypted{ssh ? ' past the SSH tunnel' : ''}</span>
          )}
        </Row>
        <Row label="Route" mono>
          {ssh ? (
            <span data-testid="route">
              {ssh.jump ? `${ssh.jump} → ` : ''}SSH {ssh.host}:{ssh.port} → {result.via.address} (local port {ssh.localPort})
            </span>
          ) : (
            <span data-testid="route">direct to {result.via.address}</span>
          )}
        </Row>
        <Row label="Probe">
          <span className={`pill ${result.probe.read === 'ok' ? 'ok' : result.probe.read === 'failed' ? 'bad' : ''}`}>read {probeWords[result.probe.read]}</span>{' '}
          <span className={`pill ${result.probe.write === 'ok' ? 'ok' : result.probe.write === 'failed' ? 'bad' : ''}`}>write {probeWords[result.probe.write]}</span>
          <div className="probe-detail">{result.probe.detail}</div>
        </Row>
        <Row label="Latency" mono>
          {formatMs(result.latencyMs)}
        </Row>
      </dl>
      {attributes.length > 0 && (
        <section className="result-block">
          <h4>Role attributes</h4>
          <ul className="attribute-list">
            {attributes.map(([name, value]) => (
              <li key={name} className={value === true ? 'attr-on' : value === false ? 'attr-off' : 'attr-value'}>
                {typeof value === 'boolean' ? name : `${name}: ${String(value)}`}
              </li>
            ))}
          </ul>
        </section>
      )}
      <section className="result-block">
        <h4>Grants ({result.grants.length})</h4>
        {result.grants.length ? (
          <ul className="grant-list mono">
            {result.grants.map((g, i) => (
              <li key={i}>{g}</li>
            ))}
          </ul>
        ) : (
          <p className="muted">The server reported no grants for this user.</p>
        )}
      </section>
    </div>
  );
}

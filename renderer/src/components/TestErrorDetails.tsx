import type { FlightdeckError } from '../../../shared/errors';
import { hostKeyChallengeOf } from '../store/profile-actions';
import { useUiStore } from '../store/ui-store';
import { ErrorCallout } from './ErrorCallout';

/** Fingerprints the core may attach to a changed-key refusal, shown so the user can report them. */
function changedKeyFacts(error: FlightdeckError): [string, string][] {
  const d = error.details ?? {};
  const facts: [string, string][] = [];
  for (const [key, label] of [
    ['host', 'Host'],
    ['keyType', 'Key type'],
    ['fingerprint', 'Presented fingerprint'],
    ['expectedFingerprint', 'Fingerprint on record'],
    ['knownHostsFile', 'known_hosts file'],
    ['line', 'Line'],
  ] as const) {
    const v = d[key];
    if (typeof v === 'string' || typeof v === 'number') facts.push([label, key === 'host' && typeof d.port === 'number' ? `${v}:${d.port}` : String(v)]);
  }
  return facts;
}

export function TestErrorDetails({ error, profileId }: { error: FlightdeckError; profileId: string }) {
  const openDialog = useUiStore((s) => s.openDialog);
  if (error.code === 'SSH_HOSTKEY_CHANGED') {
    const facts = changedKeyFacts(error);
    return (
      <ErrorCallout error={error} tone="refusal" title="Refused: the SSH host key has changed">
        <p className="refusal-note">
          Flightdeck will not connect. The server presented a different key than the one on record, which is what a
          man-in-the-middle looks like. Confirm the change with the server's administrator before editing known_hosts.
        </p>
        {facts.length > 0 && (
          <dl className="kv compact">
            {facts.map(([label, value]) => (
              <div key={label} className="kv-pair">
                <dt>{label}</dt>
                <dd className="mono">{value}</dd>
              </div>
            ))}
          </dl>
        )}
      </ErrorCallout>
    );
  }
  const challenge = hostKeyChallengeOf(error);
  return (
    <ErrorCallout error={error} tone={challenge ? 'notice' : 'error'} title={challenge ? 'SSH host key not trusted yet' : 'Connection test failed'}>
      {challenge && (
        <button type="button" className="button small" onClick={() => openDialog({ kind: 'host-key', profileId, challenge, trusting: false })}>
          Review host key…
        </button>
      )}
    </ErrorCallout>
  );
}

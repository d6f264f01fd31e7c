import { useEffect, useState } from 'react';
import { asFlightdeckError } from '../api/as-flightdeck-error';
import { api } from '../store/core-api';
import { useWatchOnly } from '../store/app-info-store';

/** Saves every statement's mean time now as the baseline the panel compares against, and says
 * when the current one was saved. */
export function BaselineControl({ profileId }: { profileId: string }) {
  const watchOnly = useWatchOnly();
  const [info, setInfo] = useState<{ capturedAt: string; statements: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api()
      .monitor.baseline({ profileId })
      .then((b) => live && setInfo(b))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [profileId]);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      setInfo(await api().monitor.saveBaseline({ profileId }));
    } catch (e) {
      setError(asFlightdeckError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="baseline-control small" data-testid="baseline-control">
      {info ? <span className="muted">baseline {new Date(info.capturedAt).toLocaleString()} · {info.statements} statements</span> : <span className="muted">no baseline</span>}
      {!watchOnly && (
        <button type="button" className="button small" disabled={busy} onClick={() => void save()} title="Save every statement's mean time now; the panel then shows each one's mean against it">
          {busy ? 'Saving…' : info ? 'Save new baseline' : 'Save baseline'}
        </button>
      )}
      {error && <span className="level-critical">{error}</span>}
    </span>
  );
}

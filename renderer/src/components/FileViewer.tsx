import { useEffect, useRef } from 'react';
import { useWindowStore, type WindowView } from '../store/window-store';
import { ErrorCallout } from './ErrorCallout';

interface Props {
  profileId: string;
  viewing: NonNullable<WindowView['viewing']>;
}

/** A migration file with the line a finding points at highlighted and scrolled into view. */
export function FileViewer({ profileId, viewing }: Props) {
  const patch = useWindowStore((s) => s.patch);
  const target = useRef<HTMLDivElement>(null);
  useEffect(() => {
    target.current?.scrollIntoView({ block: 'center' });
  }, [viewing.text, viewing.line]);
  return (
    <aside className="file-viewer" data-testid="file-viewer">
      <div className="file-viewer-head">
        <span className="mono">
          {viewing.file}:{viewing.line}
        </span>
        <button type="button" className="button small" onClick={() => patch(profileId, { viewing: undefined })}>
          Close
        </button>
      </div>
      {viewing.error && <ErrorCallout error={viewing.error} />}
      {viewing.text !== undefined && (
        <div className="file-lines mono">
          {viewing.text.split('\n').map((l, i) => (
            <div key={i} ref={i + 1 === viewing.line ? target : undefined} className={`file-line${i + 1 === viewing.line ? ' current' : ''}`} data-line={i + 1}>
              <span className="line-no">{i + 1}</span>
              <span className="line-text">{l || ' '}</span>
            </div>
          ))}
        </div>
      )}
    </aside>
  );
}

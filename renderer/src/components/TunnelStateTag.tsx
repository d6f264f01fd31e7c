import type { TunnelState } from '../../../shared/api';
import { tunnelStateLabels } from '../format/labels';

export function TunnelStateTag({ tunnel }: { tunnel: TunnelState }) {
  const port = tunnel.state === 'up' && tunnel.localPort ? ` :${tunnel.localPort}` : '';
  const retry =
    tunnel.state === 'reconnecting'
      ? ` #${tunnel.attempt}${tunnel.nextRetryInMs !== undefined ? ` in ${Math.ceil(tunnel.nextRetryInMs / 1000)}s` : ''}`
      : '';
  return (
    <span className={`tunnel-tag tunnel-${tunnel.state}`} title={tunnel.lastError ? `${tunnel.lastError.message}\n${tunnel.lastError.hint}` : undefined}>
      {tunnelStateLabels[tunnel.state]}
      {port}
      {retry}
    </span>
  );
}

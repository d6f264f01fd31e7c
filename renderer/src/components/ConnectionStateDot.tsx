import type { ConnectionState } from '../../../shared/api';
import { connectionStateLabels } from '../format/labels';

export function ConnectionStateDot({ connection }: { connection: ConnectionState }) {
  const label = connection.lastError
    ? `${connectionStateLabels[connection.state]}: ${connection.lastError.message}`
    : connectionStateLabels[connection.state];
  return <span className={`state-dot state-${connection.state}`} role="img" aria-label={label} title={label} />;
}

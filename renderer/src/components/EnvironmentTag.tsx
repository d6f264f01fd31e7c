import type { Environment } from '../../../shared/profile';
import { environmentLabels } from '../format/labels';

export function EnvironmentTag({ environment }: { environment: Environment }) {
  return <span className={`env-tag env-tag-${environment}`}>{environmentLabels[environment]}</span>;
}

import { environmentLabels } from '../format/labels';
import { useOpenProfile } from '../store/use-open-profile';

/** The colour band across the top of the window for the open profile's environment. */
export function EnvironmentBand() {
  const open = useOpenProfile();
  if (!open) return null;
  const { environment, form } = open;
  const target = form.host ? `${form.host}${form.port ? `:${form.port}` : ''}` : '';
  return (
    <div className={`env-band env-band-${environment}`} role="status" data-testid="environment-band" data-environment={environment}>
      <span className="env-band-label">{environment === 'production' ? 'PRODUCTION' : environmentLabels[environment]}</span>
      <span className="env-band-name">{form.name || 'New connection'}</span>
      {target && <span className="env-band-target mono">{target}</span>}
      {environment === 'production' && <span className="env-band-warning">Changes here affect production</span>}
    </div>
  );
}

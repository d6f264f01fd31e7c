// Phase 0 items only a person can confirm; each is a name and a time, given in the UI or with
// --attest on the command line, and kept in the record.
import type { CheckDef } from '../../check';
import type { Phase0Context } from '../context';

function attestation(id: string, title: string, what: string): CheckDef<Phase0Context> {
  return {
    id,
    phase: 0,
    title,
    severity: 'high',
    async run(ctx) {
      const a = ctx.settings.attestations[id];
      if (!a) return { status: 'pending', summary: `Not confirmed yet: ${what}`, hint: `A person confirms it with their name (in the Phase 0 page, or --attest ${id}="Name").` };
      return { status: 'pass', summary: `Confirmed by ${a.by} at ${a.at}.`, attested: a, evidence: { facts: [['confirmed by', a.by], ['at', a.at]] } };
    },
  };
}

export const dbaAvailable = attestation('attest-dba', 'DBA notified and available during the window', 'a DBA knows about the window and is available for its whole length.');
export const dashboardsReady = attestation('attest-dashboards', 'Monitoring dashboards prepared', 'the dashboards the team watches during the window are open and show the migration\'s metrics.');

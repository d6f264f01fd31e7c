// Phase 0, database access: version, user, grants, and a read and write probe that leaves nothing
// behind, on production (critical) and staging (high).
import { inspectConnection, type OpenConnection } from '../../../connections/connect';
import type { CheckDef, CheckOutcome } from '../../check';
import type { Phase0Context } from '../context';

async function probe(conn: OpenConnection): Promise<CheckOutcome> {
  const r = await inspectConnection(conn, { writeProbe: true });
  const facts: [string, string][] = [
    ['server', r.versionBanner],
    ['user', `${r.currentUser}${r.sessionUser && r.sessionUser !== r.currentUser ? ` (session ${r.sessionUser})` : ''}`],
    ['database', r.database],
    ['read', r.probe.read],
    ['write', r.probe.write],
    ['probe', r.probe.detail],
    ['TLS', r.tls.enabled ? `${r.tls.protocol ?? 'on'} ${r.tls.cipher ?? ''}`.trim() : 'off'],
  ];
  const ok = r.probe.read === 'ok' && r.probe.write === 'ok';
  return {
    status: ok ? 'pass' : 'fail',
    summary: ok ? `${r.currentUser} can read and write ${r.database} on ${r.engine} ${r.serverVersion}.` : `${r.currentUser} cannot ${r.probe.read !== 'ok' ? 'read' : 'write'} ${r.database}: ${r.probe.detail}`,
    ...(ok
      ? {}
      : {
          hint: r.inRecovery
            ? r.engine === 'mongodb'
              ? 'The profile points at a secondary; point it at the replica set (or its primary).'
              : 'The profile points at a read-only standby; point it at the primary.'
            : r.engine === 'mongodb'
              ? 'Grant the migration user readWrite and dbAdmin on the database (collections, indexes and validators).'
              : 'Grant the migration user the privileges the migrations need (CREATE on the schema, write on the tables).',
        }),
    evidence: { facts, tables: [{ title: 'Grants', columns: ['grant'], rows: r.grants.map((g) => [g]) }] },
  };
}

export const productionAccess: CheckDef<Phase0Context> = {
  id: 'access-production',
  phase: 0,
  title: 'Production database access (read and write)',
  severity: 'critical',
  run: (ctx) => probe(ctx.production),
};

export const stagingAccess: CheckDef<Phase0Context> = {
  id: 'access-staging',
  phase: 0,
  title: 'Staging database access (read and write)',
  severity: 'high',
  run: async (ctx) => (ctx.staging ? probe(ctx.staging) : { status: 'fail', summary: 'No staging database was given.', hint: 'Give the staging profile or URL: the rehearsal and the schema comparison need it.' }),
};

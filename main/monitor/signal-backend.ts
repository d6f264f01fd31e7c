// Cancel a session's query or end the session, from the locks and activity panels. On production
// the user must type the profile's name: ending the wrong session there is an outage of its own.
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import type { SqlSession } from '../connections/adapter';
import type { Logger } from '../log';

export async function signalBackend(
  profile: Profile,
  session: SqlSession,
  req: { pid: number; action: 'cancel' | 'terminate'; confirm?: string },
  log: Logger,
): Promise<{ signalled: boolean; message: string }> {
  if (profile.environment === 'production' && req.confirm !== profile.name) {
    throw new FlightdeckError(
      'FORBIDDEN',
      `${req.action === 'cancel' ? 'Cancelling a query' : 'Terminating a session'} on production needs a typed confirmation.`,
      `Type the profile name "${profile.name}" to confirm.`,
    );
  }
  let signalled: boolean;
  if (session.engine === 'postgres') {
    const fn = req.action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
    const rows = await session.query<{ ok: boolean }>(`select ${fn}($1) as ok`, [req.pid]);
    signalled = rows[0]?.ok === true;
  } else {
    await session.query(req.action === 'cancel' ? 'KILL QUERY ?' : 'KILL CONNECTION ?', [req.pid]);
    signalled = true;
  }
  const what = req.action === 'cancel' ? `cancelled the query of session ${req.pid}` : `terminated session ${req.pid}`;
  const message = signalled ? `${what[0]!.toUpperCase()}${what.slice(1)} on ${profile.name}.` : `Session ${req.pid} was not found on ${profile.name}; it may have ended already.`;
  log.info('monitor', signalled ? `${what} on ${profile.name}` : message);
  return { signalled, message };
}

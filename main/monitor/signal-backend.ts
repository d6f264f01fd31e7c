// Cancel a session's query or end the session, from the locks and activity panels. On production
// the user must type the profile's name: ending the wrong session there is an outage of its own.
import { FlightdeckError } from '../../shared/errors';
import type { Profile } from '../../shared/profile';
import { UUID } from 'mongodb';
import { isMongoSession, isSqlSession, type EngineSession, type MongoDbSession } from '../connections/adapter';
import type { Logger } from '../log';

export async function signalBackend(
  profile: Profile,
  session: EngineSession,
  req: { pid: number; sessionId?: string; action: 'cancel' | 'terminate'; confirm?: string },
  log: Logger,
): Promise<{ signalled: boolean; message: string }> {
  if (profile.environment === 'production' && req.confirm !== profile.name) {
    throw new FlightdeckError(
      'FORBIDDEN',
      `${req.action === 'cancel' ? 'Cancelling a query' : 'Terminating a session'} on production needs a typed confirmation.`,
      `Type the profile name "${profile.name}" to confirm.`,
    );
  }
  if (isMongoSession(session)) return signalMongo(profile, session, req, log);
  if (!isSqlSession(session)) throw new FlightdeckError('ENGINE_UNSUPPORTED', `Sessions cannot be signalled on ${session.engine}.`, 'Use the database\'s own tools.');
  if (req.pid <= 0) throw new FlightdeckError('INVALID_INPUT', `${req.pid} is not a server session id.`, 'Pick the session from the locks or activity panel.');
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

/**
 * MongoDB: an operation is cancelled with killOp. Terminating also ends its logical session
 * (killSessions), which aborts the session's open transaction and releases its locks; an idle
 * transaction has no operation, so both actions end its session. Whether the operation or session
 * still exists is read first, so "not found" is reported as such.
 */
async function signalMongo(profile: Profile, session: MongoDbSession, req: { pid: number; sessionId?: string; action: 'cancel' | 'terminate' }, log: Logger): Promise<{ signalled: boolean; message: string }> {
  const admin = session.client().db('admin');
  const find = (match: Record<string, unknown>) =>
    admin.aggregate<{ opid?: number; lsid?: { id?: UUID } }>([{ $currentOp: { allUsers: true, idleSessions: true } }, { $match: match }, { $limit: 1 }, { $project: { opid: 1, lsid: 1 } }]).next();
  if (req.sessionId) {
    const id = new UUID(req.sessionId);
    const found = await find({ 'lsid.id': id });
    if (!found) return notFound(`Session ${req.sessionId.slice(0, 8)}`, profile, log);
    await admin.command({ killSessions: [{ id }] });
    const message = `Ended session ${req.sessionId.slice(0, 8)} on ${profile.name}: its open transaction was aborted.`;
    log.info('monitor', message);
    return { signalled: true, message };
  }
  if (req.pid <= 0) throw new FlightdeckError('INVALID_INPUT', `${req.pid} is not a MongoDB operation id.`, 'Pick the operation from the locks or activity panel.');
  const op = await find({ opid: req.pid });
  if (!op) return notFound(`Operation ${req.pid}`, profile, log);
  await admin.command({ killOp: 1, op: req.pid });
  let what = `cancelled operation ${req.pid}`;
  if (req.action === 'terminate' && op.lsid?.id) {
    await admin.command({ killSessions: [{ id: op.lsid.id }] });
    what = `cancelled operation ${req.pid} and ended its session`;
  }
  const message = `${what[0]!.toUpperCase()}${what.slice(1)} on ${profile.name}.`;
  log.info('monitor', message);
  return { signalled: true, message };
}

function notFound(what: string, profile: Profile, log: Logger): { signalled: boolean; message: string } {
  const message = `${what} was not found on ${profile.name}; it may have ended already.`;
  log.info('monitor', message);
  return { signalled: false, message };
}

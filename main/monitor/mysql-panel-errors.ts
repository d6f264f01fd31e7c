// How the MySQL/MariaDB sampler tells apart the failures it must report per panel (a missing
// privilege, a disabled instrument, a table this server version lacks) from the ones that mean the
// monitoring session itself is gone, which must abort the whole sample so the monitor can show the
// target as stale and reconnect.
import type { z } from 'zod';
import { connectionLevelCodes, FlightdeckError } from '../../shared/errors';
import type { PanelName, panelErrorSchema } from '../../shared/monitor';

export type PanelError = z.infer<typeof panelErrorSchema>;

/** A panel-level failure whose message and hint were written for the DBA (not a driver message). */
export class PanelProblem extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'PanelProblem';
  }
}

/** The mysql2 error code (ER_…, PROTOCOL_…) behind an error, also when the adapter wrapped it. */
export function driverCode(e: unknown): string | undefined {
  if (e instanceof FlightdeckError) {
    const code = e.details?.driverCode;
    return typeof code === 'string' ? code : undefined;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function driverMessage(e: unknown): string {
  if (e instanceof FlightdeckError) {
    const m = e.details?.driverMessage;
    return typeof m === 'string' ? m : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

const deniedCodes = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_COLUMNACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_ERROR']);

/** The server refused for lack of a privilege (SELECT on performance_schema, PROCESS, …). */
export function isDenied(e: unknown): boolean {
  const code = driverCode(e);
  if (code && deniedCodes.has(code)) return true;
  return e instanceof FlightdeckError && e.code === 'PERMISSION_DENIED';
}

// What mysql2 reports when the socket under a pooled connection is gone or the server refuses new
// sessions. ER_CONNECTION_KILLED (MariaDB 1927) has no name in mysql2, so its message is matched.
const lostCodes = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
]);
const lostMessages = /Pool is closed|closed state|Connection lost|Connection was killed|Too many connections/i;

/**
 * The error to throw from sample() when the monitoring session is unusable, or undefined when the
 * failure belongs to one panel. Not every way a MySQL session dies reaches the adapter's
 * classification as CONNECTION_LOST (a killed or closed pool, network read errors), so a lost
 * session is re-raised with that connection-level code here.
 */
export function sessionFailure(e: unknown): FlightdeckError | undefined {
  if (e instanceof FlightdeckError && connectionLevelCodes.has(e.code)) return e;
  const code = driverCode(e);
  const message = driverMessage(e);
  if ((code && lostCodes.has(code)) || lostMessages.test(message)) {
    return new FlightdeckError(
      'CONNECTION_LOST',
      `The monitoring session lost its connection to the server: ${message}`,
      'The server closed the connection (restart, KILL, wait_timeout, network) or refuses new sessions (max_connections reached); sampling resumes when it accepts a connection again.',
      { ...(code ? { driverCode: code } : {}), driverMessage: message },
    );
  }
  return undefined;
}

/** A panel error for the cockpit: our own wording for known causes, the server's message otherwise. */
export function toPanelError(panel: PanelName, e: unknown): PanelError {
  if (e instanceof PanelProblem) return { panel, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  if (e instanceof FlightdeckError) return { panel, message: e.message, hint: e.hint };
  return { panel, message: driverMessage(e) };
}

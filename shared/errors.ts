// Errors cross every transport as {code, message, hint}: never a stack, never a secret.
// Each code names one cause a DBA can act on; the hint says what to do about it.
import { z } from 'zod';

export const errorCodes = [
  // input
  'INVALID_INPUT',
  'URL_INVALID',
  'ENGINE_UNSUPPORTED',
  'PROFILE_NOT_FOUND',
  // reaching the database
  'HOST_NOT_FOUND',
  'HOST_UNREACHABLE',
  'CONNECTION_REFUSED',
  'CONNECT_TIMEOUT',
  'CONNECTION_LOST',
  'AUTH_FAILED',
  'SECRET_MISSING',
  'DATABASE_NOT_FOUND',
  'TLS_REFUSED',
  'TLS_FAILED',
  'PERMISSION_DENIED',
  // SSH
  'SSH_UNREACHABLE',
  'SSH_HOSTKEY_UNKNOWN',
  'SSH_HOSTKEY_CHANGED',
  'SSH_AUTH_FAILED',
  'SSH_KEY_UNREADABLE',
  'SSH_TUNNEL_TARGET_REFUSED',
  'SSH_FAILED',
  // secrets
  'SECRET_STORAGE_UNAVAILABLE',
  // app
  'WATCH_ONLY',
  'FORBIDDEN',
  'NOT_FOUND',
  'SANDBOX_FAILED',
  'QUERY_FAILED',
  'QUERY_TIMEOUT',
  'LOCK_TIMEOUT',
  'CANCELLED',
  // migrations
  'MIGRATION_SET_INVALID',
  'MIGRATION_SYNTAX',
  'MIGRATION_FAILED',
  'MIGRATION_DIRTY',
  'MIGRATION_NOT_FOUND',
  'RUNNER_LOCKED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export const errorShape = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  hint: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorShape = z.infer<typeof errorShape>;

/** The one error type services throw; transports serialise it with toShape(). */
export class FlightdeckError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, hint: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'FlightdeckError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }

  toShape(): ErrorShape {
    return { code: this.code, message: this.message, hint: this.hint, ...(this.details ? { details: this.details } : {}) };
  }

  static fromShape(shape: ErrorShape): FlightdeckError {
    return new FlightdeckError(shape.code, shape.message, shape.hint, shape.details);
  }
}

/** Codes that say the connection itself is unusable (as opposed to one statement failing on it). */
export const connectionLevelCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'HOST_NOT_FOUND',
  'HOST_UNREACHABLE',
  'CONNECTION_REFUSED',
  'CONNECT_TIMEOUT',
  'CONNECTION_LOST',
  'AUTH_FAILED',
  'SECRET_MISSING',
  'DATABASE_NOT_FOUND',
  'TLS_REFUSED',
  'TLS_FAILED',
  'SSH_UNREACHABLE',
  'SSH_HOSTKEY_UNKNOWN',
  'SSH_HOSTKEY_CHANGED',
  'SSH_AUTH_FAILED',
  'SSH_KEY_UNREADABLE',
  'SSH_TUNNEL_TARGET_REFUSED',
  'SSH_FAILED',
]);

export function isFlightdeckError(e: unknown): e is FlightdeckError {
  return e instanceof FlightdeckError;
}

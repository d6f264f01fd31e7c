// How every command reports: human lines by default, one stable JSON envelope with --json, and on
// failure the message and hint on stderr with a non-zero exit code.
import { FlightdeckError } from '../../shared/errors';
import { toFlightdeckError } from '../connections/errors';

/** Exit codes: 0 success, 1 the operation failed, 2 the command line or input was wrong. */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

const usageCodes = new Set(['INVALID_INPUT', 'URL_INVALID', 'ENGINE_UNSUPPORTED']);

export function fail(e: unknown, json: boolean): number {
  const err = toFlightdeckError(e);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: err.toShape() }, null, 2)}\n`);
  process.stderr.write(`error ${err.code}: ${err.message}\nhint: ${err.hint}\n`);
  return usageCodes.has(err.code) ? exitCodes.usage : exitCodes.failed;
}

export function usage(message: string, help: string): FlightdeckError {
  return new FlightdeckError('INVALID_INPUT', message, help);
}

/**
 * Resolves on the first SIGINT or SIGTERM. Later signals are acknowledged, not obeyed: a second
 * Ctrl-C must not cut short the clean stop of the sandbox and open connections.
 */
export function untilStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) {
        process.stderr.write('Still stopping cleanly; please wait.\n');
        return;
      }
      stopping = true;
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

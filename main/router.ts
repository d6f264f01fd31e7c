// One dispatcher for every transport: validate the input against the contract, refuse what
// watch-only forbids, run the handler, and turn any failure into {code, message, hint}.
import type { z } from 'zod';
import { calls, type CallName, type CallOutput } from '../shared/api';
import { FlightdeckError, type ErrorShape } from '../shared/errors';
import { toFlightdeckError } from './connections/errors';
import type { Logger } from './log';

export interface CallContext {
  transport: 'electron' | 'host' | 'cli';
  watchOnly: boolean;
  /** Which cockpit called (a browser tab, the app's window): subscriptions are kept per client. */
  clientId?: string;
}

export type Handlers = {
  [K in CallName]: (input: z.infer<(typeof calls)[K]['input']>, ctx: CallContext) => Promise<CallOutput<K>>;
};

export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: ErrorShape };

export type Dispatch = (method: string, input: unknown, ctx: CallContext) => Promise<CallOutcome>;

export function createDispatcher(handlers: Handlers, log: Logger): Dispatch {
  return async (method, rawInput, ctx) => {
    try {
      if (!Object.hasOwn(calls, method)) {
        throw new FlightdeckError('NOT_FOUND', `There is no call named '${method}'.`, 'Update the renderer and main process to the same Flightdeck version.');
      }
      const name = method as CallName;
      const spec = calls[name];
      const parsed = spec.input.safeParse(rawInput ?? {});
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const where = first?.path.length ? first.path.join('.') : 'input';
        throw new FlightdeckError('INVALID_INPUT', `Invalid input for ${name}: ${where}: ${first?.message ?? 'invalid'}.`, 'Correct the highlighted field and try again.', {
          issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      const input = parsed.data;
      const mutates = typeof spec.mutates === 'function' ? (spec.mutates as (i: unknown) => boolean)(input) : spec.mutates;
      if (mutates && ctx.watchOnly) {
        throw new FlightdeckError('WATCH_ONLY', `${name} changes something, and this cockpit is watch-only.`, 'Restart the host without --watch-only to make changes.');
      }
      const handler = handlers[name] as (input: unknown, ctx: CallContext) => Promise<unknown>;
      const result = await handler(input, ctx);
      return { ok: true, result };
    } catch (e) {
      const err = toFlightdeckError(e);
      if (err.code === 'INTERNAL') log.error('router', `${method} failed: ${err.message}`);
      return { ok: false, error: err.toShape() };
    }
  };
}

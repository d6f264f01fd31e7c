// The one FlightdeckApi this renderer talks to, set once at startup by bindCore(). Stores and
// actions reach the core through it; components never hold a transport of their own.
import type { FlightdeckApi } from '../../../shared/api';

let current: FlightdeckApi | undefined;

export function setApi(api: FlightdeckApi): void {
  current = api;
}

export function api(): FlightdeckApi {
  if (!current) throw new Error('The Flightdeck API is used before bindCore() connected it.');
  return current;
}

// Picks the transport: Electron's preload exposes window.flightdeck; in a plain browser (the host,
// the e2e tests) the renderer talks WebSocket to the page's own origin with the host's token.
import { buildApi, methodKey, type FlightdeckApi } from '../../../shared/api';
import { apiPath } from '../../../shared/wire';
import { asFlightdeckError } from './as-flightdeck-error';
import { alwaysOpenLink, type CoreLink } from './core-link';
import { CoreSocket } from './core-socket';
import { takePageToken } from './page-token';

declare global {
  interface Window {
    flightdeck?: FlightdeckApi;
  }
}

export interface Core {
  api: FlightdeckApi;
  link: CoreLink;
}

export function connectCore(): Core {
  const bridge = window.flightdeck;
  if (bridge) return { api: normaliseBridgeErrors(bridge), link: alwaysOpenLink };

  const token = takePageToken();
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${window.location.host}${apiPath}?token=${encodeURIComponent(token ?? '')}`;
  const socket = new CoreSocket(
    url,
    token ? undefined : 'This page was opened without the host\'s token; open the URL that `flightdeck serve` printed.',
  );
  socket.start();
  return { api: buildApi(socket.invoke, socket.subscribe), link: socket };
}

/** contextBridge strips the class off errors; put the code and hint back. */
function normaliseBridgeErrors(bridge: FlightdeckApi): FlightdeckApi {
  const raw = bridge as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
  return buildApi(
    (name, input) => {
      const [domain, method] = methodKey(name);
      const group = raw[domain];
      if (!group?.[method]) return Promise.reject(asFlightdeckError({ code: 'NOT_FOUND', message: `The preload does not offer ${name}.`, hint: 'Rebuild the app so preload and renderer match.' }));
      return group[method](input).catch((e: unknown) => {
        throw asFlightdeckError(e);
      });
    },
    (event, listener) => bridge.on(event, listener as never),
  );
}

// Every failure the renderer shows is a FlightdeckError with a code, message and hint, whichever
// transport it came through: the socket carries shapes, Electron's contextBridge clones errors into
// plain objects (or, for ipcRenderer.invoke, into an Error whose message wraps the original).
import { errorCodes, errorShape, FlightdeckError } from '../../../shared/errors';

function parseShape(value: unknown): FlightdeckError | undefined {
  const parsed = errorShape.safeParse(value);
  return parsed.success ? FlightdeckError.fromShape(parsed.data) : undefined;
}

export function asFlightdeckError(e: unknown): FlightdeckError {
  if (e instanceof FlightdeckError) return e;
  const direct = parseShape(e);
  if (direct) return direct;
  if (e && typeof e === 'object') {
    const withShape = parseShape((e as { shape?: unknown }).shape) ?? parseShape((e as { error?: unknown }).error);
    if (withShape) return withShape;
  }
  const message = e instanceof Error ? e.message : String(e);
  // "Error invoking remote method 'x': FlightdeckError: {json}" or a bare JSON shape.
  const json = /\{.*\}\s*$/s.exec(message)?.[0];
  if (json) {
    try {
      const fromJson = parseShape(JSON.parse(json));
      if (fromJson) return fromJson;
    } catch {
      // Not JSON after all; fall through to the code-prefixed form.
    }
  }
  const coded = /\b([A-Z][A-Z_]+): (.*)$/s.exec(message);
  if (coded && (errorCodes as readonly string[]).includes(coded[1]!)) {
    return new FlightdeckError(coded[1] as (typeof errorCodes)[number], coded[2]!, '');
  }
  return new FlightdeckError('INTERNAL', message, 'The Flightdeck core failed in an unexpected way; its log has the details.');
}

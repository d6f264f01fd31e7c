// The WebSocket framing the browser host speaks (main/host/ and renderer/src/api/). Electron IPC
// carries the same call/result pairs through preload/ instead.
import { z } from 'zod';
import { errorShape } from './errors';

export const clientMessageSchema = z.object({
  type: z.literal('call'),
  id: z.number().int(),
  method: z.string(),
  input: z.unknown(),
});
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ServerMessage =
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; error: z.infer<typeof errorShape> }
  | { type: 'event'; event: string; payload: unknown };

/** Where the host serves the API; the token comes from the page URL (?token=…). */
export const apiPath = '/api';

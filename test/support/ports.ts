// Free loopback ports for the ephemeral test servers: the OS picks one with listen(0). Another
// process could take it before the server binds, so servers that fail to bind get a new one.
import * as net from 'node:net';
import { freeLoopbackPort } from '../../main/servers/postgres-cluster';

/** The product's own chooser: listen(0) on 127.0.0.1, then close. */
export const freePort = freeLoopbackPort;

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once nothing accepts TCP connections on 127.0.0.1:port any more. */
export async function waitForPortClosed(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await canConnect(port))) return;
    if (Date.now() > deadline) throw new Error(`127.0.0.1:${port} still accepted connections after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether a Unix socket accepts connections (its file can exist a moment before it does). */
export function socketAccepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: socketPath });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

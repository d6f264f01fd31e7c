// The browser host: the built renderer and the same API as Electron's IPC, over HTTP + WebSocket on
// 127.0.0.1 only. A random token in the page URL is required on the WebSocket; the Host and Origin
// headers are checked so another web page cannot drive the cockpit (DNS rebinding, cross-site WS).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FlightdeckError } from '../../shared/errors';
import { apiPath, clientMessageSchema, type ServerMessage } from '../../shared/wire';
import type { Core } from '../core';

export interface HostOptions {
  core: Core;
  /** 0 or undefined: the OS picks a free port. */
  port?: number;
  rendererDir: string;
  /** Reuse a token (tests, restarts); a fresh random one otherwise. */
  token?: string;
}

export interface RunningHost {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export async function startHost(opts: HostOptions): Promise<RunningHost> {
  const rendererDir = path.resolve(opts.rendererDir);
  try {
    await fs.access(path.join(rendererDir, 'index.html'));
  } catch {
    throw new FlightdeckError('NOT_FOUND', `The built renderer is missing: ${path.join(rendererDir, 'index.html')}.`, 'Run `npm run build` first.');
  }
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  let port = 0;

  const allowedHost = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const tokenOk = (candidate: string | null) => {
    if (!candidate) return false;
    const c = Buffer.from(candidate);
    return c.length === tokenBuf.length && timingSafeEqual(c, tokenBuf);
  };

  const server = http.createServer((req, res) => {
    serveFile(req, res).catch((e: unknown) => {
      // Whatever a request does, the host (and with it the open tunnels, pools and the sandbox) stays up.
      opts.core.log.warn('host', `request ${req.method} ${req.url?.split('?')[0] ?? ''} failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end();
    });
  });

  const serveFile = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const headers = {
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (!allowedHost(req.headers.host)) {
      res.writeHead(421, { ...headers, 'Content-Type': 'text/plain' }).end('Flightdeck answers on 127.0.0.1 only.\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    let file = path.resolve(rendererDir, `.${urlPath}`);
    if (file !== rendererDir && !file.startsWith(rendererDir + path.sep)) {
      res.writeHead(403, headers).end();
      return;
    }
    let body: Buffer;
    try {
      if ((await fs.stat(file)).isDirectory()) file = path.join(file, 'index.html');
      body = await fs.readFile(file);
    } catch {
      // A client-side route: the single page answers it.
      file = path.join(rendererDir, 'index.html');
      body = await fs.readFile(file);
    }
    const type = contentTypes[path.extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { ...headers, 'Content-Type': type, 'Cache-Control': file.endsWith('index.html') ? 'no-store' : 'max-age=3600' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const origin = req.headers.origin;
    const originOk = origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (url.pathname !== apiPath || !allowedHost(req.headers.host) || !originOk || !tokenOk(url.searchParams.get('token'))) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      opts.core.log.warn('host', `refused a WebSocket from origin ${origin ?? '(none)'}: bad token, host or origin`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    // Each browser tab is a client of its own: its subscriptions end when its socket does.
    const clientId = `tab-${randomBytes(6).toString('hex')}`;
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const unsubscribe = opts.core.events.subscribe((e) => send({ type: 'event', event: e.event, payload: e.payload }));
    ws.on('message', async (data) => {
      let msg;
      try {
        msg = clientMessageSchema.parse(JSON.parse(String(data)));
      } catch {
        opts.core.log.warn('host', 'dropped a malformed message from the browser');
        return;
      }
      const outcome = await opts.core.dispatch(msg.method, msg.input, clientId);
      send(outcome.ok ? { type: 'result', id: msg.id, ok: true, result: outcome.result } : { type: 'result', id: msg.id, ok: false, error: outcome.error });
    });
    ws.on('close', () => {
      unsubscribe();
      sockets.delete(ws);
      void opts.core.clientGone(clientId);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new FlightdeckError('CONNECTION_REFUSED', `Port ${opts.port} on 127.0.0.1 is already in use.`, 'Choose another port with --port, or leave it out to let the system pick one.')
          : e,
      ),
    );
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

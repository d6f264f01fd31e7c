// Serves dist/renderer over app://flightdeck/. The scheme must be declared privileged before the
// app is ready (Chromium fixes scheme properties at startup); the handler is installed after.
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { appScheme, resolveAppRequest, responseHeaders } from './app-url';

/** Call synchronously at startup, before `app.whenReady()`. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: appScheme,
      // standard: real origin and relative URL resolution; secure: treated like https (no mixed
      // content, secure-context APIs); supportFetchAPI: the page may fetch its own files.
      privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
    },
  ]);
}

async function readIfFile(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

function refuse(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

/** Call after `app.whenReady()`. */
export function handleAppProtocol(rendererDir: string): void {
  protocol.handle(appScheme, async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'Method not allowed');
    const target = resolveAppRequest(rendererDir, request.url);
    if (!target.ok) return refuse(target.status, target.reason);
    let file = target.file;
    let body = await readIfFile(file);
    if (!body && target.fallback) {
      file = target.fallback;
      body = await readIfFile(file);
    }
    if (!body) return refuse(404, 'Not found');
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers: responseHeaders(file) });
  });
}

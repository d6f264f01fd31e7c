// The renderer is served from app://flightdeck/, a privileged custom scheme, instead of file://:
// a real origin lets the CSP say 'self', keeps file:// privileges off, and lets IPC check the
// sender's origin. These helpers are pure (no Electron at runtime) so they are unit-tested in Node.
import path from 'node:path';

export const appScheme = 'app';
export const appHost = 'flightdeck';
export const appOrigin = `${appScheme}://${appHost}`;
export const appIndexUrl = `${appOrigin}/index.html`;

/**
 * The page may load only its own files: no inline script or style (the renderer keeps every asset
 * a file of its own), no frames, no plugins, no form posts. The renderer's index.html carries the
 * same policy as a meta tag for the browser host; where both apply, the stricter wins.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
].join('; ');

/** Whether a URL belongs to the app's own origin (Node's URL reports origin 'null' for custom schemes). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${appScheme}:` && u.host === appHost && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

export type AppRequestTarget =
  | { ok: true; file: string; /** index.html, for client-side routes that have no file of their own */ fallback?: string }
  | { ok: false; status: 400 | 403 | 404; reason: string };

/**
 * Maps an app:// URL to a file under rootDir, refusing anything that would leave it: encoded
 * dot-segments and backslashes are decoded before the containment check, not after.
 */
export function resolveAppRequest(rootDir: string, url: string): AppRequestTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, status: 400, reason: 'unparsable URL' };
  }
  if (u.protocol !== `${appScheme}:` || u.host !== appHost) return { ok: false, status: 403, reason: `foreign origin ${u.protocol}//${u.host}` };
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (pathname.includes('\0')) return { ok: false, status: 400, reason: 'NUL in path' };
  if (pathname === '' || pathname.endsWith('/')) pathname += 'index.html';

  const root = path.resolve(rootDir);
  const file = path.resolve(root, `.${path.sep}${pathname.replace(/^[/\\]+/, '')}`);
  const relative = path.relative(root, file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    return { ok: false, status: 403, reason: 'path leaves the renderer folder' };
  }
  const hasExtension = path.extname(file) !== '';
  return hasExtension ? { ok: true, file } : { ok: true, file, fallback: path.join(root, 'index.html') };
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function contentTypeFor(file: string): string {
  return contentTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers for every response the app protocol serves. */
export function responseHeaders(file: string): Record<string, string> {
  return {
    'Content-Type': contentTypeFor(file),
    'Content-Security-Policy': contentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-cache',
  };
}

/** Only https links leave the app, and only to the user's browser. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

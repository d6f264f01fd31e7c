// The app:// protocol's pure half: which files a URL may reach, and which URLs count as ours.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appIndexUrl, contentSecurityPolicy, isAppUrl, isSafeExternalUrl, resolveAppRequest, responseHeaders } from '../../main/electron/app-url';

const root = path.resolve('/opt/flightdeck/dist/renderer');

describe('resolveAppRequest', () => {
  it('maps app://flightdeck/ paths into the renderer folder', () => {
    expect(resolveAppRequest(root, appIndexUrl)).toEqual({ ok: true, file: path.join(root, 'index.html') });
    expect(resolveAppRequest(root, 'app://flightdeck/')).toEqual({ ok: true, file: path.join(root, 'index.html') });
    expect(resolveAppRequest(root, 'app://flightdeck/assets/index-abc.js?v=1#x')).toEqual({ ok: true, file: path.join(root, 'assets', 'index-abc.js') });
    expect(resolveAppRequest(root, 'app://flightdeck/assets/a%20b.css')).toEqual({ ok: true, file: path.join(root, 'assets', 'a b.css') });
  });

  it('falls back to index.html for client-side routes without an extension', () => {
    expect(resolveAppRequest(root, 'app://flightdeck/profiles/prod')).toEqual({ ok: true, file: path.join(root, 'profiles', 'prod'), fallback: path.join(root, 'index.html') });
  });

  it('refuses every way out of the renderer folder', () => {
    for (const url of [
      'app://flightdeck/%2e%2e/%2e%2e/etc/passwd',
      'app://flightdeck/..%2f..%2fmain%2felectron.cjs',
      'app://flightdeck/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecrets.json',
      'app://flightdeck/..%5c..%5csecrets.json',
      'app://flightdeck/%2F%2E%2E%2Fsecrets.json',
    ]) {
      const target = resolveAppRequest(root, url);
      if (target.ok) expect(path.relative(root, target.file).startsWith('..'), url).toBe(false);
      else expect(target.status, url).toBe(403);
    }
    // Dot-segments the URL parser resolves itself stay inside too.
    expect(resolveAppRequest(root, 'app://flightdeck/../../etc/passwd')).toMatchObject({ ok: true, file: path.join(root, 'etc', 'passwd') });
  });

  it('refuses other hosts, other schemes, NULs and broken encodings', () => {
    expect(resolveAppRequest(root, 'app://evil/index.html')).toMatchObject({ ok: false, status: 403 });
    expect(resolveAppRequest(root, 'file:///etc/passwd')).toMatchObject({ ok: false, status: 403 });
    expect(resolveAppRequest(root, 'app://flightdeck/index.html%00.png')).toMatchObject({ ok: false, status: 400 });
    expect(resolveAppRequest(root, 'app://flightdeck/%E0%A4%A')).toMatchObject({ ok: false, status: 400 });
    expect(resolveAppRequest(root, 'not a url')).toMatchObject({ ok: false, status: 400 });
  });
});

describe('origins', () => {
  it('recognises only app://flightdeck as the app', () => {
    expect(isAppUrl('app://flightdeck/index.html')).toBe(true);
    expect(isAppUrl('app://flightdeck/')).toBe(true);
    expect(isAppUrl('app://flightdeck.evil/index.html')).toBe(false);
    expect(isAppUrl('app://user:pw@flightdeck/')).toBe(false);
    expect(isAppUrl('https://flightdeck/')).toBe(false);
    expect(isAppUrl('file:///index.html')).toBe(false);
    expect(isAppUrl('about:blank')).toBe(false);
    expect(isAppUrl('')).toBe(false);
  });

  it('opens only https links externally', () => {
    expect(isSafeExternalUrl('https://www.postgresql.org/docs/')).toBe(true);
    expect(isSafeExternalUrl('http://example.com/')).toBe(false);
    expect(isSafeExternalUrl('file:///etc/passwd')).toBe(false);
    expect(isSafeExternalUrl('smb://host/share')).toBe(false);
    expect(isSafeExternalUrl('javascript:alert(1)')).toBe(false);
    expect(isSafeExternalUrl('https://user:pw@example.com/')).toBe(false);
  });
});

describe('response headers', () => {
  it('carry the CSP and a content type', () => {
    const headers = responseHeaders('/x/index.html');
    expect(headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(headers['Content-Security-Policy']).toBe(contentSecurityPolicy);
    expect(responseHeaders('/x/a.js')['Content-Type']).toMatch(/^text\/javascript/);
    expect(responseHeaders('/x/blob.bin')['Content-Type']).toBe('application/octet-stream');
  });

  it('forbid inline and remote script', () => {
    expect(contentSecurityPolicy).toContain("default-src 'none'");
    expect(contentSecurityPolicy).toContain("script-src 'self'");
    expect(contentSecurityPolicy).not.toContain('unsafe-inline');
    expect(contentSecurityPolicy).not.toContain('unsafe-eval');
    expect(contentSecurityPolicy).not.toMatch(/https?:/);
  });
});

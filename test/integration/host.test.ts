// The browser host: serves the renderer, carries calls and events over a token-guarded WebSocket,
// and refuses other origins, host names, tokens and paths outside the bundle.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCore, type Core } from '../../main/core';
import { startHost, type RunningHost } from '../../main/host/server';
import { MemorySecretStore } from '../../main/secrets/secret-store';

let dir: string;
let core: Core;
let host: RunningHost;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-host-'));
  const rendererDir = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Flightdeck</title>');
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the bundle');
  core = await createCore({ transport: 'host', dataDir: path.join(dir, 'data'), secretStore: new MemorySecretStore() });
  host = await startHost({ core, rendererDir });
});

afterAll(async () => {
  await host.close();
  await core.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

function get(urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: host.port, path: urlPath, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

function openSocket(query: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api${query}`, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

describe('browser host', () => {
  it('listens on 127.0.0.1 with a random token in the URL', () => {
    expect(host.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/\\?token=[A-Za-z0-9_-]{32}$`));
  });

  it('serves the renderer with a CSP, and nothing outside it', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await get('/assets/app.js')).headers['content-type']).toContain('javascript');
    const traversal = await get('/..%2Fsecret.txt');
    expect(traversal.body).not.toContain('outside the bundle');
    expect((await get('/', { Host: 'evil.example.com' })).status).toBe(421);
    // A malformed escape is a bad request, not a crash of the host.
    expect((await get('/%E0%A4%A')).status).toBe(400);
    expect((await get('/')).status).toBe(200);
  });

  it('carries calls and events over the WebSocket with the right token and origin', async () => {
    const ws = await openSocket(`?token=${host.token}`, `http://127.0.0.1:${host.port}`);
    const messages: { type: string; id?: number; ok?: boolean; result?: unknown; error?: { code: string }; event?: string }[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    ws.send(JSON.stringify({ type: 'call', id: 1, method: 'app/info', input: {} }));
    ws.send(JSON.stringify({ type: 'call', id: 2, method: 'profiles/save', input: { profile: { name: 'x' } } }));
    ws.send('not json');
    core.log.info('test', 'hello password=hunter2 from the core');
    await new Promise((r) => setTimeout(r, 300));
    const info = messages.find((m) => m.id === 1);
    expect(info).toMatchObject({ type: 'result', ok: true, result: { transport: 'host', watchOnly: false } });
    expect(messages.find((m) => m.id === 2)).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    const log = messages.find((m) => m.type === 'event' && m.event === 'log/line' && JSON.stringify(m).includes('hello'));
    expect(JSON.stringify(log)).toContain('password=***');
    expect(JSON.stringify(log)).not.toContain('hunter2');
    ws.close();
  });

  it('refuses a wrong or missing token and a foreign origin', async () => {
    await expect(openSocket('?token=wrong')).rejects.toThrow(/403/);
    await expect(openSocket('')).rejects.toThrow(/403/);
    await expect(openSocket(`?token=${host.token}`, 'https://evil.example.com')).rejects.toThrow(/403/);
  });
});

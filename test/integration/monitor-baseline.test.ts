// Saving a statements baseline through the core on the real test PostgreSQL: the means are read
// from pg_stat_statements (nothing reset), saved to a file, and the next samples show each listed
// statement's mean against its baseline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sample } from '../../shared/monitor';
import { createCore, type Core } from '../../main/core';
import { MemorySecretStore } from '../../main/secrets/secret-store';
import { describeWith } from '../support/servers';

describeWith('postgres', 'statements baseline', (server) => {
  let dir: string;
  let core: Core;
  let client: pg.Client;
  const table = `fd_baseline_${process.pid}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fd-baseline-'));
    core = await createCore({ transport: 'host', dataDir: dir, secretStore: new MemorySecretStore() });
    client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database });
    await client.connect();
    await client.query(`create table ${table} (id int primary key, v int)`);
    await client.query(`insert into ${table} select g, g from generate_series(1, 1000) g`);
  });
  afterAll(async () => {
    await client?.query(`drop table if exists ${table}`).catch(() => undefined);
    await client?.end();
    await core?.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function call<T>(method: string, input: unknown): Promise<T> {
    const r = await core.dispatch(method, input);
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.result as T;
  }

  it('saves the means and compares the next samples against them', { timeout: 30_000 }, async () => {
    const saved = await core.dispatch('profiles/save', {
      profile: { name: 'baseline', engine: 'postgres', environment: 'staging', host: server.host, port: server.port, database: server.database, user: server.user, tls: { mode: 'disable' } },
      secrets: { 'db-password': server.password },
    });
    if (!saved.ok) throw new Error(saved.error.message);
    const profileId = (saved.result as { profile: { id: string } }).profile.id;
    const samples: Sample[] = [];
    core.events.subscribe((e) => {
      if (e.event === 'monitor/sample' && e.payload.profileId === profileId) samples.push(e.payload);
    });
    expect(await call('monitor/baseline', { profileId })).toBeNull();
    await core.dispatch('monitor/start', { profileId, intervalMs: 500 });
    await expect.poll(() => samples.length, { timeout: 10_000 }).toBeGreaterThan(1);
    const statement = `select sum(v) from ${table} where id > $1`;
    for (let i = 0; i < 20; i++) await client.query(statement, [i]);

    const info = await call<{ statements: number; file: string; capturedAt: string }>('monitor/save-baseline', { profileId });
    expect(info.statements).toBeGreaterThan(0);
    const file = JSON.parse(fs.readFileSync(info.file, 'utf8')) as { means: Record<string, number> };
    expect(Object.keys(file.means).length).toBe(info.statements);

    // Run it again: the panel lists it with its mean now and its mean in the baseline.
    samples.length = 0;
    const seen = async () => {
      await client.query(statement, [1]);
      return samples.flatMap((s) => s.statements?.top ?? []).find((t) => t.query.includes(table) && t.baselineMeanMs !== null);
    };
    await expect.poll(seen, { timeout: 15_000, interval: 300 }).toBeTruthy();
    const row = (await seen())!;
    expect(row.baselineMeanMs).toBeGreaterThan(0);
    expect(file.means[row.id]).toBeCloseTo(row.baselineMeanMs!, 6);
    expect(await call('monitor/baseline', { profileId })).toMatchObject({ statements: info.statements, capturedAt: info.capturedAt });
  });
});

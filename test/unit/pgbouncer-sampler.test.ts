// The PgBouncer sampler's own logic with a stand-in console (the real console is covered in
// test/integration/monitor-pgbouncer.test.ts): pools of the monitored database picked by name or by
// the server database an entry maps to; a console that stops answering is cut off at the timeout,
// the last pools kept with the error, the connection dropped and reopened after a pause.
import { describe, expect, it } from 'vitest';
import type { Console, PgBouncerConsole } from '../../main/connections/pgbouncer-console';
import { PgBouncerSampler } from '../../main/monitor/pgbouncer-sampler';

const target: PgBouncerConsole = {
  profile: { id: 'pgb', name: 'pgb', engine: 'postgres', environment: 'production', host: 'pooler.internal', port: 6432, database: 'pgbouncer', user: 'stats', tls: { mode: 'disable' }, connectTimeoutMs: 5000 },
  secrets: {},
};

const poolRow = (database: string, user: string, over: Record<string, unknown> = {}) => ({ database, user, cl_active: 2, cl_waiting: 0, sv_active: 1, sv_idle: 1, sv_used: 0, maxwait: 0, maxwait_us: 0, pool_mode: 'transaction', ...over });

function fakeConsole(answers: { pools: () => Record<string, unknown>[]; hang?: () => boolean }): { open: () => Promise<Console>; opened: number; closed: number } {
  const state = { opened: 0, closed: 0, open: async (): Promise<Console> => {
    state.opened++;
    return {
      address: 'stats@pooler.internal:6432/pgbouncer',
      async query(sql) {
        if (answers.hang?.()) return new Promise(() => undefined);
        if (sql === 'SHOW CONFIG') return [{ key: 'default_pool_size', value: '25' }];
        if (sql === 'SHOW POOLS') return answers.pools();
        if (sql === 'SHOW DATABASES') return [
          { name: 'shop_rw', database: 'shop', host: 'db1', port: 5432, pool_size: 40, paused: 0, disabled: 0 },
          { name: 'billing', database: 'billing', host: 'db1', port: 5432, pool_size: 0, paused: 0, disabled: 0 },
        ];
        throw new Error(`unexpected ${sql}`);
      },
      async close() {
        state.closed++;
      },
    };
  } };
  return state;
}

describe('PgBouncerSampler', () => {
  it('lists the pools of the monitored database by its entry name or mapped database, with their pool_size', async () => {
    const fake = fakeConsole({ pools: () => [poolRow('shop_rw', 'app', { cl_waiting: 4, maxwait: 1, maxwait_us: 500_000 }), poolRow('shop', 'report'), poolRow('billing', 'app'), poolRow('pgbouncer', 'pgbouncer')] });
    const s = new PgBouncerSampler({ console: target, database: 'shop', open: fake.open, now: () => 1000 });
    expect(s.panel()).toMatchObject({ address: 'stats@pooler.internal:6432/pgbouncer', readAt: null, pools: [] });
    await s.refresh();
    const p = s.panel();
    expect(p.error).toBeUndefined();
    expect(p.readAt).toBe(1000);
    expect(p.otherPools).toBe(1);
    expect(p.pools).toEqual([
      { database: 'shop_rw', user: 'app', mode: 'transaction', clientsActive: 2, clientsWaiting: 4, serversActive: 1, serversIdle: 1, serversUsed: 0, poolSize: 40, maxWaitSeconds: 1.5 },
      // No [databases] entry of its own: default_pool_size.
      expect.objectContaining({ database: 'shop', user: 'report', poolSize: 25 }),
    ]);
    await s.refresh();
    expect(fake.opened).toBe(1);
  });

  it('cuts a console that stops answering at the timeout, keeps the last pools, and reopens after a pause', async () => {
    let hang = false;
    let now = 0;
    const fake = fakeConsole({ pools: () => [poolRow('shop', 'app')], hang: () => hang });
    const s = new PgBouncerSampler({ console: target, database: 'shop', open: fake.open, now: () => now, timeoutMs: 50 });
    await s.refresh();
    expect(s.panel().pools).toHaveLength(1);

    hang = true;
    now = 10_000;
    await s.refresh();
    const failed = s.panel();
    expect(failed.error?.message).toBe("Could not read PgBouncer's pools at stats@pooler.internal:6432/pgbouncer: PgBouncer at stats@pooler.internal:6432/pgbouncer did not answer within 50 ms.");
    expect(failed.pools).toHaveLength(1);
    expect(failed.readAt).toBe(0);
    expect(fake.closed).toBe(1);

    // Within the pause nothing is tried; after it, a new connection answers and the error clears.
    hang = false;
    now = 10_500;
    await s.refresh();
    expect(fake.opened).toBe(1);
    now = 11_001;
    await s.refresh();
    expect(fake.opened).toBe(2);
    expect(s.panel().error).toBeUndefined();
    expect(s.panel().readAt).toBe(11_001);
  });

  it('does nothing once closed', async () => {
    const fake = fakeConsole({ pools: () => [] });
    const s = new PgBouncerSampler({ console: target, database: 'shop', open: fake.open });
    await s.refresh();
    await s.close();
    await s.refresh();
    expect(fake.opened).toBe(1);
    expect(fake.closed).toBe(1);
  });
});

// The static lock table against the server: every command form the lint rules cover runs on a
// scratch copy of staging's schema, and the locks and rewrites PostgreSQL really took must equal the
// static answer, except where the difference is known and explained in the output.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { planSet } from '../../main/analysis/plan-set';
import { tracePlan } from '../../main/analysis/postgres-lock-trace';
import { HostKeyPolicy } from '../../main/connections/ssh/host-keys';
import { readMigrationSet } from '../../main/migrations/migration-set';
import { runMigrations } from '../../main/migrations/runner';
import { closeOpened, postgresTestDb, writeSet, type TestDb } from '../support/migration-dbs';
import { describeWith } from '../support/servers';

const base = `create table customers (id bigint primary key, email varchar(50) not null, name text, score int);
create table orders (id bigint primary key, customer_id bigint not null, total numeric(10,2), status text);
create table items (id bigint primary key, order_id bigint, sku text);
create table audit (id bigserial primary key, note text);
create index orders_status on orders (status);
create unique index customers_email_idx on customers (email);
create type mood as enum ('ok', 'sad');
create function touch() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger items_touch before update on items for each row execute function touch();
create view order_totals as select customer_id, sum(total) as total from orders group by customer_id;
`;

/** Each form, with the answer the static table must give (checked by the trace). */
const forms: string[] = [
  'alter table customers add column note text',
  'alter table customers add column token uuid default gen_random_uuid()',
  "alter table customers add column tier text not null default 'basic'",
  'alter table customers drop column score',
  'alter table orders alter column status type varchar(30)',
  'alter table orders alter column id type bigint',
  'alter table customers alter column email type varchar(100)',
  'alter table customers alter column email type text',
  'alter table customers alter column name set not null',
  'alter table customers alter column name drop not null',
  "alter table orders alter column status set default 'new'",
  'alter table orders add constraint orders_total_positive check (total >= 0)',
  'alter table orders add constraint orders_total_small check (total < 1000000) not valid',
  'alter table orders validate constraint orders_total_small',
  'alter table orders add constraint orders_customer_fk foreign key (customer_id) references customers (id)',
  'alter table items add constraint items_order_fk foreign key (order_id) references orders (id) not valid',
  'alter table items validate constraint items_order_fk',
  'alter table items add constraint items_sku_key unique (sku)',
  'alter table customers add constraint customers_email_key unique using index customers_email_idx',
  'alter table orders drop constraint orders_total_positive',
  'alter table items rename column sku to stock_keeping_unit',
  'alter table audit rename to audit_log',
  'create index orders_total on orders (total)',
  'drop index orders_status',
  'reindex index orders_total',
  'reindex table orders',
  'create trigger orders_touch before update on orders for each row execute function touch()',
  'drop trigger items_touch on items',
  'create table refunds (id bigint primary key, order_id bigint references orders (id))',
  'update orders set status = lower(status)',
  'delete from items where order_id is null',
  'insert into audit_log (note) select email from customers',
  "comment on table orders is 'orders of the shop'",
  'create or replace view order_totals as select customer_id, sum(total) as total, count(*) as n from orders group by customer_id',
  'lock table items in share row exclusive mode',
  'truncate refunds',
  'drop table refunds',
  "alter type mood add value 'glad'",
  "set lock_timeout = '2s'",
  'do $$ begin update items set stock_keeping_unit = upper(stock_keeping_unit) where stock_keeping_unit is not null; end $$',
  "do $$ begin execute 'update items set order_id = order_id'; end $$",
  'create index concurrently items_order on items (order_id)',
];

/** Where PostgreSQL and the static table legitimately differ, and the output must say why. */
const explained: Record<string, RegExp> = {
  'alter table items validate constraint items_order_fk': /RowShareLock on orders: orders is the table the validated foreign key references/,
  'drop table refunds': /orders is referenced by a foreign key of the dropped table/,
  'do $$ begin execute \'update items set order_id = order_id\'; end $$': /RowExclusiveLock on items: the code the DO block runs took it \(dynamic or opaque code/,
  'alter table customers alter column email type varchar(100)': /did not rewrite it: the type change is binary-coercible/,
  'alter table customers alter column email type text': /did not rewrite it: the type change is binary-coercible/,
  'alter table orders alter column id type bigint': /did not rewrite it: the type change is binary-coercible/,
};

describeWith('postgres', 'lock trace on PostgreSQL', (server) => {
  const dbs: TestDb[] = [];
  const journalDir = path.join(os.tmpdir(), `fd-trace-journal-${process.pid}`);
  afterAll(async () => {
    await closeOpened();
    await Promise.all(dbs.map((d) => d.drop()));
    await fs.rm(journalDir, { recursive: true, force: true });
  });

  it('agrees with the static table for every command form the rules cover, or explains the difference', { timeout: 120_000 }, async () => {
    const staging = await postgresTestDb(server, 'fdtrace');
    dbs.push(staging);
    const files: Record<string, string> = { '1_base.up.sql': base, '1_base.down.sql': 'drop schema public cascade; create schema public;\n' };
    forms.forEach((sql, i) => {
      const v = String(i + 2).padStart(3, '0');
      files[`${v}_form.up.sql`] = `${sql};\n`;
      files[`${v}_form.down.sql`] = 'select 1;\n';
    });
    const dir = await writeSet(files);
    const set = await readMigrationSet(dir);
    const conn = await staging.open({ poolSize: 2 });
    await runMigrations(conn, set, { kind: 'up', steps: 1 }, { journalDir, lockTimeoutMs: 1000 });
    const planned = await planSet(set, { engine: 'postgres' });
    const report = await tracePlan(planned, set, { staging: conn, password: staging.password, hostKeys: new HostKeyPolicy({ defaultKnownHostsFile: path.join(os.tmpdir(), 'fd-no-known-hosts') }) });
    await conn.close();
    expect(report.traced).toBe(true);
    expect(report.notes).toEqual([]);

    const rows: string[] = [];
    const unexplained: string[] = [];
    forms.forEach((sql, i) => {
      const s = report.migrations[i + 1]!.up!.statements[0]!;
      const t = s.trace!;
      rows.push(`${sql}\n    static: ${s.locks.map((l) => `${l.lock} ${l.table}`).join(', ') || '-'}${s.rewrites.length ? ` rewrites ${s.rewrites.join(',')}` : ''}\n    trace:  ${t.error ?? (t.locks.map((l) => `${l.lock} ${l.table}`).join(', ') || '-')}${t.rewrites.length ? ` rewrote ${t.rewrites.join(',')}` : ''}${t.differences.length ? `\n    diff:   ${t.differences.join(' | ')}` : ''}`);
      if (sql.includes('concurrently')) {
        expect(t.error).toMatch(/cannot run inside a transaction block/);
        return;
      }
      expect(t.error, sql).toBeUndefined();
      const allowed = explained[sql];
      if (allowed) expect(t.differences.join(' | '), sql).toMatch(allowed);
      const bad = t.differences.filter((d) => /unexplained/.test(d));
      if (bad.length) unexplained.push(`${sql}: ${bad.join(' | ')}`);
    });
    console.log(rows.join('\n'));
    expect(unexplained).toEqual([]);
    // The trace saw real rewrites where the table says so.
    const rewrote = (sql: string) => report.migrations[forms.indexOf(sql) + 1]!.up!.statements[0]!.trace!.rewrites;
    expect(rewrote('alter table customers add column token uuid default gen_random_uuid()')).toEqual(['customers']);
    // The scratch database is gone.
    expect(await staging.query("select 1 from pg_database where datname like 'flightdeck_trace_%'")).toEqual([]);
  });
});

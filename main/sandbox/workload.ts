// A light, steady demo workload on the sandbox shop, so the cockpit's panels show something alive:
// web sessions browsing and placing orders, a worker moving orders along, a reader on the replica,
// and now and then a slow report. A few queries per second in all. It survives the server going
// away (sessions reconnect with backoff) and stops promptly, cancelling whatever is in flight.
import pg from 'pg';
import type { Logger } from '../log';

export interface WorkloadEndpoint {
  host: string;
  port: number;
}

export interface DemoWorkloadOptions {
  primary: WorkloadEndpoint;
  /** Read-only sessions go here when given. */
  replica?: WorkloadEndpoint;
  database: string;
  user: string;
  password: string;
  /** Scales every session's pace; 1 is a few queries per second in all. */
  speed?: number;
  /** Mean time between slow reports. */
  slowQueryEveryMs?: number;
  log?: Logger;
}

export interface WorkloadStats {
  queries: number;
  errors: number;
  ordersPlaced: number;
  slowQueries: number;
  /** Sessions connected right now. */
  sessions: number;
}

interface Session {
  name: string;
  target: 'primary' | 'replica';
  /** Mean pause between actions. */
  everyMs: number;
  act: (client: pg.Client) => Promise<void>;
}

const categories = ['books', 'games', 'kitchen', 'garden', 'toys', 'audio', 'cameras', 'outdoor', 'office', 'tools'];
const countries = ['US', 'GB', 'DE', 'FR', 'NL', 'SE', 'ES', 'IT', 'CA', 'AU', 'JP', 'BR'];
const paymentMethods = ['card', 'card', 'paypal', 'bank_transfer', 'gift_card'];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** Errors after which the connection is no longer usable: no SQLSTATE (socket errors), connection
 * exceptions (08…) and operator intervention such as a shutdown (57P…). */
function connectionLost(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P');
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class DemoWorkload {
  private readonly opts: DemoWorkloadOptions;
  private controller: AbortController | undefined;
  private loops: Promise<void>[] = [];
  /** Backend PIDs of connected sessions, by endpoint, so stop() can cancel their queries. */
  private readonly backends = new Map<pg.Client, { pid: number; target: 'primary' | 'replica' }>();
  private readonly counters: Omit<WorkloadStats, 'sessions'> = { queries: 0, errors: 0, ordersPlaced: 0, slowQueries: 0 };

  constructor(opts: DemoWorkloadOptions) {
    this.opts = opts;
  }

  get running(): boolean {
    return this.controller !== undefined;
  }

  get stats(): WorkloadStats {
    return { ...this.counters, sessions: this.backends.size };
  }

  start(): void {
    if (this.controller) return;
    const controller = (this.controller = new AbortController());
    const speed = this.opts.speed ?? 1;
    const sessions: Session[] = [
      { name: 'demo-shop/web-1', target: 'primary', everyMs: 600 / speed, act: (c) => this.webAction(c) },
      { name: 'demo-shop/web-2', target: 'primary', everyMs: 600 / speed, act: (c) => this.webAction(c) },
      { name: 'demo-shop/worker', target: 'primary', everyMs: 1000 / speed, act: (c) => this.workerAction(c) },
      { name: 'demo-shop/reports', target: 'primary', everyMs: (this.opts.slowQueryEveryMs ?? 30_000) / speed, act: (c) => this.slowReport(c) },
    ];
    if (this.opts.replica) sessions.push({ name: 'demo-shop/replica-reader', target: 'replica', everyMs: 1500 / speed, act: (c) => this.replicaRead(c) });
    this.loops = sessions.map((s) => this.runSession(s, controller.signal));
  }

  /** Stops every session: in-flight queries are cancelled, connections closed. */
  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    controller.abort();
    await this.cancelInFlight();
    await Promise.all(this.loops);
    this.loops = [];
    this.controller = undefined;
  }

  private endpoint(target: 'primary' | 'replica'): WorkloadEndpoint {
    return target === 'replica' && this.opts.replica ? this.opts.replica : this.opts.primary;
  }

  private async connect(session: Session): Promise<pg.Client> {
    const { host, port } = this.endpoint(session.target);
    const client = new pg.Client({
      host,
      port,
      user: this.opts.user,
      password: this.opts.password,
      database: this.opts.database,
      application_name: session.name,
      connectionTimeoutMillis: 5000,
      // Like a real application: no statement may hold its locks for long.
      statement_timeout: 15_000,
      lock_timeout: 3_000,
    });
    // Without a listener, an error on an idle connection (a server shutdown) would crash the process.
    client.on('error', () => undefined);
    await client.connect();
    try {
      const res = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.backends.set(client, { pid: res.rows[0]!.pid, target: session.target });
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    return client;
  }

  private async close(client: pg.Client): Promise<void> {
    this.backends.delete(client);
    await client.end().catch(() => undefined);
  }

  private async runSession(session: Session, signal: AbortSignal): Promise<void> {
    let client: pg.Client | undefined;
    let backoffMs = 500;
    let failures = 0;
    // Spread the sessions' first actions so they do not arrive in lockstep.
    await abortableSleep(Math.random() * Math.min(session.everyMs, 1000), signal);
    while (!signal.aborted) {
      let pause = session.everyMs * (0.5 + Math.random());
      try {
        client ??= await this.connect(session);
        await session.act(client);
        backoffMs = 500;
        failures = 0;
      } catch (e) {
        if (signal.aborted) break;
        this.counters.errors++;
        if (connectionLost(e)) {
          if (client) await this.close(client);
          client = undefined;
          failures++;
          pause = backoffMs;
          backoffMs = Math.min(backoffMs * 2, 10_000);
          const message = `${session.name}: ${(e as Error).message}; retrying in ${pause} ms`;
          if (failures === 3) this.opts.log?.warn('sandbox-workload', message);
          else this.opts.log?.debug('sandbox-workload', message);
        } else {
          this.opts.log?.debug('sandbox-workload', `${session.name}: ${(e as Error).message}`);
        }
      }
      await abortableSleep(pause, signal);
    }
    if (client) await this.close(client);
  }

  private async cancelInFlight(): Promise<void> {
    for (const target of ['primary', 'replica'] as const) {
      const pids = [...this.backends.values()].filter((b) => b.target === target).map((b) => b.pid);
      if (pids.length === 0) continue;
      const { host, port } = this.endpoint(target);
      const admin = new pg.Client({ host, port, user: this.opts.user, password: this.opts.password, database: this.opts.database, application_name: 'demo-shop/stop', connectionTimeoutMillis: 2000 });
      admin.on('error', () => undefined);
      try {
        await admin.connect();
        // A role may cancel its own sessions' queries without further privileges.
        await admin.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
      } catch {
        // The server is gone or going: its sessions' queries end with it.
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
  }

  private async query(client: pg.Client, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
    const res = await client.query(sql, values);
    this.counters.queries++;
    return res;
  }

  private async webAction(c: pg.Client): Promise<void> {
    const r = Math.random();
    if (r < 0.5) {
      const low = randomInt(2, 150) * 100;
      await this.query(
        c,
        'SELECT id, sku, name, price_cents, stock FROM shop.products WHERE category = $1 AND price_cents BETWEEN $2 AND $3 ORDER BY price_cents LIMIT 20',
        [pick(categories), low, low + 5000],
      );
    } else if (r < 0.75) {
      await this.query(
        c,
        `SELECT o.id, o.status, o.total_cents, o.created_at, count(*) AS items
           FROM shop.orders o JOIN shop.order_items i ON i.order_id = o.id
          WHERE o.customer_id = $1 GROUP BY o.id ORDER BY o.created_at DESC LIMIT 10`,
        [randomInt(1, 20000)],
      );
    } else {
      await this.placeOrder(c);
    }
  }

  private async placeOrder(c: pg.Client): Promise<void> {
    const items = Array.from({ length: randomInt(1, 4) }, () => ({ product_id: randomInt(1, 2000), quantity: randomInt(1, 3) }));
    await this.query(c, 'BEGIN');
    try {
      const res = await this.query(c, 'SELECT shop.place_order($1, $2::jsonb) AS id', [randomInt(1, 20000), JSON.stringify(items)]);
      const orderId = (res.rows[0] as { id: string }).id;
      await this.query(c, "INSERT INTO shop.payments (order_id, amount_cents, method, status) SELECT id, total_cents, $2, 'authorized' FROM shop.orders WHERE id = $1", [
        orderId,
        pick(paymentMethods),
      ]);
      await this.query(c, 'COMMIT');
      this.counters.ordersPlaced++;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  private async workerAction(c: pg.Client): Promise<void> {
    const r = Math.random();
    if (r < 0.3) {
      await this.query(
        c,
        `UPDATE shop.orders SET status = 'paid' WHERE id IN (
           SELECT id FROM shop.orders WHERE status = 'pending' ORDER BY created_at LIMIT 5 FOR UPDATE SKIP LOCKED)`,
      );
      await this.query(c, "UPDATE shop.payments SET status = 'captured' WHERE status = 'authorized' AND paid_at < now() - interval '5 seconds'");
    } else if (r < 0.6) {
      await this.query(
        c,
        `UPDATE shop.orders SET status = 'shipped' WHERE id IN (
           SELECT id FROM shop.orders WHERE status = 'paid' ORDER BY created_at LIMIT 5 FOR UPDATE SKIP LOCKED)`,
      );
    } else if (r < 0.85) {
      await this.query(
        c,
        `UPDATE shop.orders SET status = 'delivered' WHERE id IN (
           SELECT id FROM shop.orders WHERE status = 'shipped' AND updated_at < now() - interval '30 seconds'
            ORDER BY updated_at LIMIT 5 FOR UPDATE SKIP LOCKED)`,
      );
    } else {
      // Restock what sold out, or orders would start failing for good.
      await this.query(c, 'UPDATE shop.products SET stock = stock + 200 WHERE id IN (SELECT id FROM shop.products WHERE stock < 10 LIMIT 20)');
    }
  }

  private async replicaRead(c: pg.Client): Promise<void> {
    if (Math.random() < 0.5) {
      await this.query(c, "SELECT day, orders, revenue FROM shop.daily_revenue WHERE day > now() - interval '30 days' ORDER BY day");
    } else {
      await this.query(
        c,
        `SELECT p.category, p.name, sum(i.quantity) AS sold
           FROM shop.order_items i JOIN shop.products p ON p.id = i.product_id
          WHERE p.category = $1 GROUP BY p.id ORDER BY sold DESC LIMIT 10`,
        [pick(categories)],
      );
    }
  }

  private async slowReport(c: pg.Client): Promise<void> {
    // The shop is too small for this report to be slow on its own; pg_sleep stretches it to what it
    // would take on production-sized tables, so the long-running-query panels have one to show.
    // The filter on country (unindexed) gives the plan its sequential scan.
    await this.query(
      c,
      `SELECT c.country, count(DISTINCT c.id) AS customers, sum(o.total_cents) / 100.0 AS lifetime_revenue, pg_sleep($2)
         FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id
        WHERE c.country = $1 AND o.status <> 'cancelled'
        GROUP BY c.country`,
      [pick(countries), 1.5 + Math.random() * 2],
    );
    this.counters.slowQueries++;
  }
}

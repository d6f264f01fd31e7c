// An SSH tunnel for one database connection: a listener on 127.0.0.1 whose connections are
// forwarded through the SSH server (optionally through a jump host first) to the database. The
// database drivers only ever see 127.0.0.1:<localPort>, so every engine gets SSH the same way.
//
// Opening fails fast with one specific error and leaves nothing behind. Once up, a dropped SSH
// connection is retried with backoff on the same local port, so drivers and pools pointed at the
// port recover by themselves when the server is back.
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthHandlerMiddleware, Client as SshClient, ClientChannel } from 'ssh2';
import type { TunnelState } from '../../../shared/api';
import { FlightdeckError } from '../../../shared/errors';
import type { SshHop, SshOptions } from '../../../shared/profile';
import type { Logger } from '../../log';
import { makeAuthHandler, prepareHopAuth, type HopAuth, type HopRole } from './auth';
import { execCommand, type ExecResult } from './exec';
import type { HostKeyCheck, HostKeyPolicy } from './host-keys';
import { asFlightdeckError, channelFailure, hopError, targetRefused, timeoutError, type Phase } from './tunnel-errors';

const { Client } = ssh2;

/** ssh2 has no public "is closed" flag; close() must not wait out the grace for a dead client. */
const closedClients = new WeakSet<SshClient>();

export interface SshSecrets {
  password?: string;
  passphrase?: string;
  jumpPassword?: string;
  jumpPassphrase?: string;
}

export interface TunnelOptions {
  ssh: SshOptions;
  secrets: SshSecrets;
  /** The database as the SSH server sees it. */
  target: { host: string; port: number };
  hostKeys: HostKeyPolicy;
  connectTimeoutMs: number;
  log?: Logger;
  onState?: (s: TunnelState) => void;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number };
  /** Port of the local listener on 127.0.0.1. Flightdeck leaves it unset so the OS picks a free
   * one; tests pass a taken port to make the listen fail after the SSH link is up, a path that
   * otherwise needs the process to run out of file handles. */
  localPort?: number;
}

export interface SshTunnel {
  readonly localPort: number;
  readonly state: TunnelState;
  close(): Promise<void>;
  /** Runs one command on the SSH server over the tunnel's own connection, bounded by timeoutMs.
   * Rejects (SSH_UNREACHABLE) while the connection is down or reconnecting. */
  exec(command: string, timeoutMs: number): Promise<ExecResult>;
}

const LOG_SOURCE = 'ssh';
/** Unanswered keepalives before the server is declared dead: with the default 10 s interval a
 * silently vanished server (pulled cable, VPN drop) is noticed within about 30 s. */
const KEEPALIVE_COUNT_MAX = 3;
/** Local connections held while the SSH connection is re-established; beyond this they are
 * refused, so a pool hammering a dead tunnel cannot pile up sockets. */
const MAX_HELD = 64;
/** How long close() waits for the server to acknowledge a polite disconnect before cutting. */
const CLOSE_GRACE_MS = 1000;

const defaults = { initialDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: 20 };

/** Errors a retry cannot fix. Host key errors must never be retried past; auth errors need the
 * user, and hammering a bastion with failing logins gets the address banned (fail2ban, sshd's
 * PerSourcePenalties), which would lock out the DBA's own terminal too. */
const fatalOnReconnect = new Set(['SSH_HOSTKEY_CHANGED', 'SSH_HOSTKEY_UNKNOWN', 'SSH_AUTH_FAILED', 'SSH_KEY_UNREADABLE', 'SECRET_MISSING']);

interface HopPlan {
  role: HopRole;
  hop: SshHop;
  auth: HopAuth;
  /** "SSH server user@host:port" or "jump host …", for messages. */
  who: string;
}

/** One established chain of clients: jump (if any) first, the SSH server last. */
interface Link {
  clients: SshClient[];
  sockets: Duplex[];
  final: SshClient;
}

/** Everything one connection attempt opens, so a timeout or close() can tear it all down. */
class Attempt {
  phase: Phase | undefined;
  readonly clients: SshClient[] = [];
  readonly sockets: Duplex[] = [];
  private abortWith: ((e: FlightdeckError) => void) | undefined;
  private abortedWith: FlightdeckError | undefined;
  readonly aborted: Promise<never>;

  constructor() {
    this.aborted = new Promise<never>((_, reject) => {
      this.abortWith = reject;
    });
    // The race in run() observes it; this keeps an abort after the race from being "unhandled".
    this.aborted.catch(() => undefined);
  }

  abort(e: FlightdeckError): void {
    this.abortedWith ??= e;
    this.abortWith?.(e);
    this.abortWith = undefined;
    this.destroy();
  }

  /** Called after every await in establish(): once aborted, nothing new may be opened. */
  check(): void {
    if (this.abortedWith) throw this.abortedWith;
  }

  destroy(): void {
    for (const c of this.clients) c.destroy();
    for (const s of this.sockets) s.destroy();
  }
}

export async function openTunnel(opts: TunnelOptions): Promise<SshTunnel> {
  const tunnel = new Tunnel(opts);
  await tunnel.open();
  return tunnel;
}

class Tunnel implements SshTunnel {
  private readonly opts: TunnelOptions;
  private readonly log: Logger | undefined;
  private readonly backoff: { initialDelayMs: number; maxDelayMs: number; maxAttempts: number };
  private plans: HopPlan[] = [];
  private server: Server | undefined;
  private port = 0;
  private link: Link | undefined;
  private current: TunnelState;
  private readonly pairs = new Set<{ local: Socket; remote?: ClientChannel }>();
  private readonly held = new Set<{ sock: Socket; timer: NodeJS.Timeout }>();
  private retryTimer: NodeJS.Timeout | undefined;
  private inFlight: Attempt | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: TunnelOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.backoff = {
      initialDelayMs: opts.reconnect?.initialDelayMs ?? defaults.initialDelayMs,
      maxDelayMs: opts.reconnect?.maxDelayMs ?? defaults.maxDelayMs,
      maxAttempts: opts.reconnect?.maxAttempts ?? defaults.maxAttempts,
    };
    this.current = { state: 'connecting', attempt: 0, since: new Date().toISOString() };
  }

  get localPort(): number {
    return this.port;
  }

  get state(): TunnelState {
    return { ...this.current };
  }

  exec(command: string, timeoutMs: number): Promise<ExecResult> {
    const link = this.link;
    if (!link || this.closing || this.current.state !== 'up') {
      const ssh = this.opts.ssh;
      return Promise.reject(
        new FlightdeckError('SSH_UNREACHABLE', `The SSH connection to ${ssh.user}@${ssh.host}:${ssh.port} is not up (${this.current.state}).`, 'Flightdeck reconnects on its own; wait for the tunnel to come back.'),
      );
    }
    return execCommand(link.final, command, timeoutMs);
  }

  async open(): Promise<void> {
    const { ssh, target } = this.opts;
    this.emit({ state: 'connecting', attempt: 0 });
    const route = `${ssh.jump ? `${ssh.jump.user}@${ssh.jump.host}:${ssh.jump.port} → ` : ''}${ssh.user}@${ssh.host}:${ssh.port} → ${target.host}:${target.port}`;
    this.log?.info(LOG_SOURCE, `opening tunnel ${route}`);
    try {
      const link = await this.run(true, this.opts.connectTimeoutMs);
      // Owned by the tunnel from here on, so teardownNow() destroys it if the listen below fails:
      // otherwise nothing would reference the established link and its keepalives would hold
      // the SSH session open for as long as the process runs. adopt() wires up drop handling.
      this.link = link;
      this.server = await listenLocal(this.opts.localPort ?? 0, (sock) => this.onLocalConnection(sock));
      const addr = this.server.address();
      this.port = typeof addr === 'object' && addr ? addr.port : 0;
      this.adopt(link);
      this.emit({ state: 'up', attempt: 0 });
      this.log?.info(LOG_SOURCE, `tunnel up: 127.0.0.1:${this.port} → ${route}`);
    } catch (e) {
      const err = asFlightdeckError(e);
      this.log?.warn(LOG_SOURCE, `tunnel ${route} failed: ${err.code}: ${err.message}`);
      this.teardownNow();
      this.emit({ state: 'down', attempt: 0, lastError: err.toShape() });
      throw err;
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.inFlight?.abort(new FlightdeckError('SSH_FAILED', 'The tunnel was closed.', 'Nothing to do.'));
    this.dropLocalSockets();
    const server = this.server;
    const serverClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const link = this.link;
    this.link = undefined;
    if (link) await endLink(link);
    await serverClosed;
    this.emit({ state: 'closed', attempt: 0 });
    this.log?.info(LOG_SOURCE, `tunnel on 127.0.0.1:${this.port} closed`);
  }

  /** Reads keys and asks the agent before any network traffic, so local problems surface first.
   * Done once per tunnel: reconnects reuse the decrypted key rather than needing the passphrase. */
  private async preparePlans(attempt: Attempt): Promise<HopPlan[]> {
    const { ssh, secrets } = this.opts;
    const track = (s: Duplex) => attempt.sockets.push(s);
    const plans: HopPlan[] = [];
    const hops: [HopRole, SshHop, { password?: string; passphrase?: string }, string][] = [];
    if (ssh.jump) {
      const j = ssh.jump;
      hops.push(['jump', j, { password: secrets.jumpPassword, passphrase: secrets.jumpPassphrase }, `jump host ${j.user}@${j.host}:${j.port}`]);
    }
    hops.push(['ssh', ssh, { password: secrets.password, passphrase: secrets.passphrase }, `SSH server ${ssh.user}@${ssh.host}:${ssh.port}`]);
    for (const [role, hop, hopSecrets, who] of hops) {
      attempt.phase = { kind: 'credentials', hop };
      plans.push({ role, hop, who, auth: await prepareHopAuth(role, hop, hopSecrets, track) });
      attempt.check();
    }
    return plans;
  }

  /** One bounded attempt to build the client chain (and, on open, to prove the target answers). */
  private async run(probe: boolean, timeoutMs: number): Promise<Link> {
    const attempt = new Attempt();
    this.inFlight = attempt;
    const timer = setTimeout(() => attempt.abort(timeoutError(attempt.phase, this.opts, timeoutMs)), timeoutMs);
    try {
      return await Promise.race([this.establish(attempt, probe), attempt.aborted]);
    } catch (e) {
      attempt.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
      if (this.inFlight === attempt) this.inFlight = undefined;
    }
  }

  private async establish(attempt: Attempt, probe: boolean): Promise<Link> {
    const { ssh, hostKeys, target } = this.opts;
    // The schema defaults it, but a caller building options by hand must not silently lose keepalive.
    const keepaliveMs = ssh.keepaliveIntervalMs ?? 10_000;
    if (this.plans.length === 0) this.plans = await this.preparePlans(attempt);
    let previous: SshClient | undefined;
    for (const plan of this.plans) {
      const check = await hostKeys.prepare({ host: plan.hop.host, port: plan.hop.port, knownHostsFile: ssh.knownHostsFile });
      attempt.check();
      let sock: Duplex;
      if (!previous) {
        attempt.phase = { kind: 'tcp', plan };
        const tcp = netConnect({ host: plan.hop.host, port: plan.hop.port });
        tcp.setNoDelay(true);
        attempt.sockets.push(tcp);
        sock = tcp;
      } else {
        const jumpPlan = this.plans[0] as HopPlan;
        attempt.phase = { kind: 'jump-forward', plan: jumpPlan };
        sock = await forwardOut(previous, plan.hop.host, plan.hop.port).catch((e: Error) => {
          throw new FlightdeckError(
            'SSH_UNREACHABLE',
            `The ${jumpPlan.who} cannot reach the ${plan.who}: ${channelFailure(e)}.`,
            'Check the SSH server\'s host and port as the jump host sees them, and that the jump host allows TCP forwarding (AllowTcpForwarding).',
          );
        });
        attempt.sockets.push(sock);
        attempt.check();
        attempt.phase = { kind: 'handshake', plan };
      }
      previous = await connectHop(attempt, plan, check, sock, keepaliveMs);
      attempt.check();
    }
    const final = previous as SshClient;
    if (probe) {
      // One real channel to the target before we call the tunnel up: "SSH works but the database
      // port is closed" is the commonest tunnel mistake and deserves its own error. The target
      // sees a connection that closes without speaking (PostgreSQL logs "incomplete startup packet").
      attempt.phase = { kind: 'probe' };
      const stream = await forwardOut(final, target.host, target.port).catch((e: Error) => {
        throw targetRefused(this.opts, e);
      });
      stream.destroy();
      attempt.check();
    }
    return { clients: [...attempt.clients], sockets: [...attempt.sockets], final };
  }

  private adopt(link: Link): void {
    this.link = link;
    let dropped = false;
    let lastError: Error | undefined;
    for (const c of link.clients) {
      c.on('error', (e: Error) => {
        lastError = e;
      });
      c.once('close', () => {
        if (dropped) return;
        dropped = true;
        this.onDrop(link, lastError);
      });
    }
    // The server may have gone between the attempt and now (while the listener was opened): its
    // 'close' already fired, so no listener above will. Deferred so 'up' is reported first.
    if (link.clients.some((c) => closedClients.has(c))) {
      dropped = true;
      queueMicrotask(() => this.onDrop(link, undefined));
    }
  }

  private onDrop(link: Link, cause: Error | undefined): void {
    if (this.link !== link) return;
    this.link = undefined;
    for (const c of link.clients) c.destroy();
    for (const s of link.sockets) s.destroy();
    for (const p of this.pairs) destroyPair(p);
    if (this.closing) return;
    const ssh = this.opts.ssh;
    const why = cause ? cause.message : 'the server closed the connection';
    const err = new FlightdeckError(
      'SSH_UNREACHABLE',
      `Lost the SSH connection to ${ssh.user}@${ssh.host}:${ssh.port}: ${why}.`,
      'Flightdeck is reconnecting on its own; check the SSH server and the network if it does not come back.',
    );
    this.log?.warn(LOG_SOURCE, `${err.message} Reconnecting; 127.0.0.1:${this.port} stays open.`);
    this.scheduleRetry(1, err);
  }

  private scheduleRetry(attempt: number, lastError: FlightdeckError): void {
    if (attempt > this.backoff.maxAttempts) {
      this.goDown(
        new FlightdeckError(
          lastError.code,
          `${lastError.message} Gave up after ${this.backoff.maxAttempts} reconnect attempts.`,
          lastError.hint,
          lastError.details,
        ),
      );
      return;
    }
    const delay = backoffDelay(attempt, this.backoff.initialDelayMs, this.backoff.maxDelayMs);
    this.emit({ state: 'reconnecting', attempt, nextRetryInMs: delay, lastError: lastError.toShape() });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconnect(attempt);
    }, delay);
  }

  private async reconnect(attempt: number): Promise<void> {
    if (this.closing) return;
    this.log?.info(LOG_SOURCE, `reconnect attempt ${attempt} to ${this.opts.ssh.host}:${this.opts.ssh.port}`);
    let link: Link;
    try {
      // No target probe here: held connections are about to test the target for real.
      link = await this.run(false, this.opts.connectTimeoutMs);
    } catch (e) {
      if (this.closing) return;
      const err = asFlightdeckError(e);
      if (fatalOnReconnect.has(err.code)) {
        this.goDown(err);
        return;
      }
      this.log?.warn(LOG_SOURCE, `reconnect attempt ${attempt} failed: ${err.code}: ${err.message}`);
      this.scheduleRetry(attempt + 1, err);
      return;
    }
    if (this.closing) {
      await endLink(link);
      return;
    }
    this.adopt(link);
    this.emit({ state: 'up', attempt: 0 });
    this.log?.info(LOG_SOURCE, `tunnel on 127.0.0.1:${this.port} is up again after ${attempt} attempt${attempt === 1 ? '' : 's'}`);
    for (const h of [...this.held]) {
      this.held.delete(h);
      clearTimeout(h.timer);
      this.forward(h.sock);
    }
  }

  private goDown(err: FlightdeckError): void {
    this.log?.error(LOG_SOURCE, `tunnel on 127.0.0.1:${this.port} is down: ${err.code}: ${err.message}`);
    for (const h of this.held) {
      clearTimeout(h.timer);
      h.sock.destroy();
    }
    this.held.clear();
    this.emit({ state: 'down', attempt: 0, lastError: err.toShape() });
  }

  private onLocalConnection(sock: Socket): void {
    sock.on('error', (e) => this.log?.debug(LOG_SOURCE, `local connection on 127.0.0.1:${this.port}: ${e.message}`));
    if (this.closing) {
      sock.destroy();
      return;
    }
    switch (this.current.state) {
      case 'up':
        this.forward(sock);
        return;
      case 'connecting':
      case 'reconnecting':
        this.hold(sock);
        return;
      default:
        // Down: the listener stays bound until close() so no other process can take this port
        // while drivers still point at it (they would send their password to whoever did).
        sock.destroy();
    }
  }

  /** Held rather than refused: a driver that connects during a short blip then just sees a slow
   * connect instead of an error. Held no longer than the profile's connect timeout, which is what
   * the driver itself would wait, and at most MAX_HELD at once. */
  private hold(sock: Socket): void {
    if (this.held.size >= MAX_HELD) {
      sock.destroy();
      return;
    }
    const h = {
      sock,
      timer: setTimeout(() => {
        this.held.delete(h);
        sock.destroy();
      }, this.opts.connectTimeoutMs),
    };
    sock.once('close', () => {
      clearTimeout(h.timer);
      this.held.delete(h);
    });
    this.held.add(h);
  }

  private forward(sock: Socket): void {
    const link = this.link;
    if (!link) {
      this.hold(sock);
      return;
    }
    const pair: { local: Socket; remote?: ClientChannel } = { local: sock };
    this.pairs.add(pair);
    sock.once('close', () => {
      this.pairs.delete(pair);
      pair.remote?.destroy();
    });
    const { host, port } = this.opts.target;
    const opened = (err: Error | undefined, stream: ClientChannel) => {
      if (err) {
        this.log?.warn(LOG_SOURCE, `forwarding a connection to ${host}:${port} failed: ${channelFailure(err)}`);
        sock.destroy();
        return;
      }
      if (sock.destroyed || this.link !== link || this.closing) {
        stream.destroy();
        sock.destroy();
        return;
      }
      pair.remote = stream;
      stream.on('error', (e: Error) => {
        this.log?.debug(LOG_SOURCE, `forwarded channel to ${host}:${port}: ${e.message}`);
        sock.destroy();
      });
      // end(), not destroy(): the database's last words (an auth error, say) may still be queued
      // for the client when the channel closes right behind them.
      stream.once('close', () => sock.end());
      sock.pipe(stream).pipe(sock);
    };
    try {
      link.final.forwardOut('127.0.0.1', sock.remotePort ?? 0, host, port, opened);
    } catch (e) {
      // ssh2 throws when the connection died between the drop and our 'close' handler running.
      this.log?.debug(LOG_SOURCE, `forwarding a connection to ${host}:${port} failed: ${(e as Error).message}`);
      sock.destroy();
    }
  }

  private dropLocalSockets(): void {
    for (const h of this.held) {
      clearTimeout(h.timer);
      h.sock.destroy();
    }
    this.held.clear();
    for (const p of this.pairs) destroyPair(p);
    this.pairs.clear();
  }

  /** Failure during open: nothing may outlive the rejected promise. */
  private teardownNow(): void {
    this.inFlight?.abort(new FlightdeckError('SSH_FAILED', 'The tunnel was closed.', 'Nothing to do.'));
    this.dropLocalSockets();
    this.server?.close();
    const link = this.link;
    this.link = undefined;
    if (link) {
      for (const c of link.clients) c.destroy();
      for (const s of link.sockets) s.destroy();
    }
  }

  private emit(s: Omit<TunnelState, 'since' | 'localPort'>): void {
    const since = s.state === this.current.state && s.state !== 'up' ? this.current.since : new Date().toISOString();
    this.current = { ...s, since, ...(this.port ? { localPort: this.port } : {}) };
    try {
      this.opts.onState?.({ ...this.current });
    } catch (e) {
      this.log?.error(LOG_SOURCE, `tunnel state listener threw: ${(e as Error).message}`);
    }
  }
}

function connectHop(attempt: Attempt, plan: HopPlan, check: HostKeyCheck, sock: Duplex, keepaliveMs: number): Promise<SshClient> {
  return new Promise<SshClient>((resolve, reject) => {
    const client = new Client();
    attempt.clients.push(client);
    client.once('close', () => closedClients.add(client));
    let settled = false;
    let hostKeyError: FlightdeckError | undefined;
    let agentError: Error | undefined;

    const fail = (e: FlightdeckError) => {
      if (settled) return;
      settled = true;
      client.destroy();
      sock.destroy();
      reject(e);
    };
    // A refused keyboard-interactive prompt is never answered: cutting the connection is the only
    // way to stop without sending a (failed) answer the server would count against the account.
    const { handler, record } = makeAuthHandler(plan.auth.methods((s) => attempt.sockets.push(s), fail));
    if ('connecting' in sock) {
      (sock as Socket).once('connect', () => {
        if (!settled) attempt.phase = { kind: 'handshake', plan };
      });
    }
    client.on('handshake', () => {
      if (!settled) attempt.phase = { kind: 'auth', plan };
    });
    // Stays attached after ready: an 'error' without a listener would crash the process.
    client.on('error', (e: Error & { level?: string; code?: string }) => {
      if (settled) return;
      if (e.level === 'agent') {
        // ssh2 moves on to the next method; remember why the agent failed for the final message.
        agentError = e;
        return;
      }
      fail(hopError(plan, e, { hostKeyError, agentError, record }));
    });
    client.once('close', () =>
      fail(
        hostKeyError ??
          new FlightdeckError(
            'SSH_UNREACHABLE',
            `The ${plan.who} closed the connection before the SSH session was set up.`,
            'Check that the port is an SSH server\'s, and that the server accepts connections from this machine (sshd MaxStartups, AllowUsers, firewall).',
          ),
      ),
    );
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      resolve(client);
    });
    try {
      client.connect({
        sock,
        username: plan.hop.user,
        hostVerifier: (key: Buffer) => {
          hostKeyError = check.verify(key);
          return hostKeyError === undefined;
        },
        algorithms: { serverHostKey: check.hostKeyAlgorithms as never },
        authHandler: handler as unknown as AuthHandlerMiddleware,
        keepaliveInterval: keepaliveMs,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        // Our own timer bounds the whole attempt; ssh2's would only race it with a vaguer error.
        readyTimeout: 0,
      });
    } catch (e) {
      fail(new FlightdeckError('SSH_FAILED', `Cannot start the SSH session with the ${plan.who}: ${(e as Error).message}.`, 'Check the SSH settings of the connection profile.'));
    }
  });
}

function forwardOut(client: SshClient, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

function listenLocal(port: number, onConnection: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a client's FIN is forwarded as EOF and the database may still answer.
    // pauseOnConnect: held sockets do not read (and buffer) until they are forwarded.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
    // A failed listen leaves no handle behind (Node closes it), so rejecting is all there is to do.
    const failed = (e: NodeJS.ErrnoException) => reject(listenError(port, e));
    server.once('error', failed);
    // Loopback only: the tunnel is for this machine's drivers, never for the network.
    server.listen(port, '127.0.0.1', () => {
      server.off('error', failed);
      resolve(server);
    });
  });
}

/** The SSH side worked, so the message must not send the user to check SSH settings. */
function listenError(port: number, e: NodeJS.ErrnoException): FlightdeckError {
  const where = `127.0.0.1${port ? `:${port}` : ''}`;
  const hint =
    e.code === 'EMFILE' || e.code === 'ENFILE'
      ? 'Flightdeck has run out of open files: close some connections, or raise the open-file limit (ulimit -n) and restart Flightdeck.'
      : e.code === 'EADDRINUSE'
        ? `Another program is listening on ${where}; stop it or let Flightdeck choose the port.`
        : 'Check that this machine allows programs to listen on 127.0.0.1 (a local firewall or security policy may forbid it).';
  return new FlightdeckError('SSH_FAILED', `The SSH connection works, but the tunnel's local port on ${where} cannot be opened: ${e.message}.`, hint, e.code ? { errno: e.code } : undefined);
}

/** Polite disconnect (sshd logs it as such) with a bound, then cut whatever is left. */
async function endLink(link: Link): Promise<void> {
  for (const c of [...link.clients].reverse()) {
    if (closedClients.has(c)) continue;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        c.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      c.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      c.end();
    });
  }
  for (const s of link.sockets) s.destroy();
}

function destroyPair(p: { local: Socket; remote?: ClientChannel }): void {
  p.local.destroy();
  p.remote?.destroy();
}

/** Full jitter on the upper half: spreads many tunnels reconnecting to one bastion at once. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

// The errors a tunnel fails with: one code per cause the DBA can act on, a message that names the
// hop (jump host or SSH server) and a hint saying what to check. Kept apart from the tunnel's
// mechanics so the wording can be read and reviewed in one place.
import { FlightdeckError } from '../../../shared/errors';
import type { SshHop } from '../../../shared/profile';
import type { TunnelOptions } from './tunnel';

/** What the messages need to know about a hop. */
export interface HopLabel {
  hop: SshHop;
  /** "SSH server user@host:port" or "jump host …". */
  who: string;
  auth: { description: string };
}

/** Where an attempt is, so a timeout can say which step did not finish. */
export type Phase =
  | { kind: 'credentials'; hop: SshHop }
  | { kind: 'tcp'; plan: HopLabel }
  | { kind: 'handshake'; plan: HopLabel }
  | { kind: 'auth'; plan: HopLabel }
  | { kind: 'jump-forward'; plan: HopLabel }
  | { kind: 'probe' };

/** An ssh2 client error, by its level, as the cause the user can act on. A refused host key wins
 * over whatever ssh2 reports after it, since that is the real reason the connection ended. */
export function hopError(
  plan: HopLabel,
  e: Error & { level?: string; code?: string },
  ctx: { hostKeyError?: FlightdeckError; agentError?: Error; record: { tried: string[]; serverAccepts?: string[]; partial: boolean } },
): FlightdeckError {
  if (ctx.hostKeyError) return ctx.hostKeyError;
  const { hop, who } = plan;
  switch (e.level) {
    case 'client-authentication': {
      if (ctx.agentError) {
        return new FlightdeckError(
          'SSH_KEY_UNREADABLE',
          `ssh-agent failed while signing in to the ${who}: ${ctx.agentError.message}.`,
          'Check that ssh-agent is running and still holds your key (ssh-add -l).',
        );
      }
      const tried = ctx.record.tried.length ? ctx.record.tried.join(', ') : 'nothing (the server offers none of the configured methods)';
      const accepts = ctx.record.serverAccepts ? `; the server accepts: ${ctx.record.serverAccepts.join(', ')}` : '';
      const partial = ctx.record.partial ? ' The server wants a second factor after the first method succeeded, which Flightdeck cannot provide.' : '';
      return new FlightdeckError(
        'SSH_AUTH_FAILED',
        `The ${who} rejected user ${hop.user} (tried ${tried} with ${plan.auth.description}${accepts}).${partial}`,
        hop.auth === 'password'
          ? 'Check the SSH user name and password in the connection profile.'
          : `Check the SSH user name, and that the public key is in ~${hop.user}/.ssh/authorized_keys on the server.`,
        { tried: ctx.record.tried, ...(ctx.record.serverAccepts ? { serverAccepts: ctx.record.serverAccepts } : {}) },
      );
    }
    case 'client-socket':
    case 'client-dns': {
      const code = e.code ?? '';
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || e.level === 'client-dns') {
        return new FlightdeckError('SSH_UNREACHABLE', `Cannot resolve the ${who}'s host name ${hop.host}.`, 'Check the SSH host name, and your DNS or VPN.');
      }
      if (code === 'ECONNREFUSED') {
        return new FlightdeckError(
          'SSH_UNREACHABLE',
          `The ${who} refused the connection (nothing listens on port ${hop.port}).`,
          'Check the SSH host and port, and that sshd is running there.',
        );
      }
      return new FlightdeckError('SSH_UNREACHABLE', `Cannot reach the ${who}: ${e.message}.`, 'Check the SSH host and port, your network, VPN and firewall.');
    }
    case 'client-timeout':
      return new FlightdeckError('SSH_UNREACHABLE', `The ${who} stopped answering (${e.message}).`, 'Check the network between this machine and the SSH server.');
    default:
      return new FlightdeckError('SSH_FAILED', `SSH session with the ${who} failed: ${e.message}.`, 'Check that the host and port are an SSH server\'s and that it supports a modern key exchange.');
  }
}

export function timeoutError(phase: Phase | undefined, opts: TunnelOptions, ms: number): FlightdeckError {
  const within = `within ${ms} ms`;
  switch (phase?.kind) {
    case 'probe':
      return new FlightdeckError(
        'SSH_TUNNEL_TARGET_REFUSED',
        `The target ${opts.target.host}:${opts.target.port} did not answer through the SSH server ${within}.`,
        'Check the database host and port as the SSH server sees them, and any firewall between them.',
        { target: opts.target },
      );
    case 'credentials':
      return new FlightdeckError(
        'SSH_KEY_UNREADABLE',
        `ssh-agent at ${phase.hop.agentSocket ?? process.env.SSH_AUTH_SOCK ?? '(none)'} did not answer ${within}.`,
        'Check that ssh-agent is running and responsive (ssh-add -l), or use a key file in the profile.',
      );
    case 'auth':
      return new FlightdeckError(
        'SSH_AUTH_FAILED',
        `Signing in to the ${phase.plan.who} did not complete ${within}.`,
        'The server may be slow to check credentials (PAM, LDAP); raise the connect timeout or check the server.',
      );
    case 'handshake':
      return new FlightdeckError(
        'SSH_UNREACHABLE',
        `The ${phase.plan.who} accepted the connection but the SSH handshake did not complete ${within}.`,
        'Check that the port is an SSH server\'s; a firewall or proxy may be swallowing the traffic.',
      );
    case 'jump-forward':
      return new FlightdeckError(
        'SSH_UNREACHABLE',
        `The ${phase.plan.who} could not reach the SSH server ${opts.ssh.host}:${opts.ssh.port} ${within}.`,
        'Check the SSH server\'s host and port as the jump host sees them.',
      );
    case 'tcp':
    default: {
      const who = phase && 'plan' in phase ? phase.plan.who : `SSH server ${opts.ssh.host}:${opts.ssh.port}`;
      return new FlightdeckError('SSH_UNREACHABLE', `No answer from the ${who} ${within}.`, 'Check the SSH host and port, your network, VPN and firewall.');
    }
  }
}

export function targetRefused(opts: TunnelOptions, e: Error): FlightdeckError {
  const { host, port } = opts.target;
  const reason = (e as Error & { reason?: number | string }).reason;
  // RFC 4254: 1 = administratively prohibited, i.e. sshd forbids forwarding (AllowTcpForwarding).
  const prohibited = reason === 1;
  return new FlightdeckError(
    'SSH_TUNNEL_TARGET_REFUSED',
    prohibited
      ? `The SSH server ${opts.ssh.host} does not allow forwarding to ${host}:${port} (${channelFailure(e)}).`
      : `The target ${host}:${port} refused the connection through the SSH server ${opts.ssh.host} (${channelFailure(e)}).`,
    prohibited
      ? 'Ask the server\'s administrator to allow TCP forwarding (AllowTcpForwarding / PermitOpen in sshd_config) for this user.'
      : 'Check the database host and port as the SSH server sees them (often 127.0.0.1 or the database\'s private address), and that the database is running.',
    { target: { host, port } },
  );
}

export function channelFailure(e: Error): string {
  return e.message.replace(/^\(SSH\) Channel open failure: ?/, '') || 'refused';
}

export function asFlightdeckError(e: unknown): FlightdeckError {
  if (e instanceof FlightdeckError) return e;
  return new FlightdeckError('SSH_FAILED', `SSH tunnel failed: ${(e as Error)?.message ?? String(e)}.`, 'Check the SSH settings of the connection profile.');
}

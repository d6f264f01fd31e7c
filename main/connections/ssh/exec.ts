// Running one command on the SSH server over an established connection (ssh2's client.exec): the
// tunnel's own connection, so reading host figures needs no second login. Bounded in time: past
// the deadline the remote process is sent KILL (servers that honour signal requests) and the
// channel is closed, so a hung command never holds the caller up.
import type { Client as SshClient, ClientChannel } from 'ssh2';
import { FlightdeckError } from '../../../shared/errors';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The command's exit status; null when it was ended by a signal or the server did not say. */
  code: number | null;
  signal?: string;
}

/** Output beyond this is cut (and the command still waited for): host figures are a few kB. */
const maxOutputBytes = 1024 * 1024;

export function execCommand(client: SshClient, command: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    const timer = setTimeout(() => {
      finish(
        new FlightdeckError(
          'SSH_FAILED',
          `The command on the SSH server did not finish within ${timeoutMs} ms.`,
          'The server may be overloaded, or a file system it reads (df) may be hanging.',
        ),
      );
      if (channel) {
        try {
          channel.signal('KILL');
        } catch {
          // The channel may already be gone.
        }
        channel.close();
      }
    }, timeoutMs);
    const finish = (result: ExecResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    try {
      client.exec(command, (err, stream) => {
        if (err) {
          finish(new FlightdeckError('SSH_FAILED', `The SSH server refused to run a command: ${err.message}.`, 'Check that the SSH account may run commands (no ForceCommand or restricted shell).'));
          return;
        }
        if (settled) {
          // Timed out while the channel was being opened.
          stream.close();
          return;
        }
        channel = stream;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let size = 0;
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
          if (size >= maxOutputBytes) return;
          size += chunk.length;
          into.push(chunk);
        };
        let code: number | null = null;
        let signal: string | undefined;
        stream.on('data', collect(out));
        stream.stderr.on('data', collect(errOut));
        stream.on('exit', (c: number | null, s?: string) => {
          code = typeof c === 'number' ? c : null;
          if (s) signal = s;
        });
        stream.on('error', (e: Error) => finish(new FlightdeckError('SSH_FAILED', `The command on the SSH server failed: ${e.message}.`, 'Check the SSH connection.')));
        stream.once('close', () =>
          finish({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8'), code, ...(signal ? { signal } : {}) }),
        );
      });
    } catch (e) {
      // ssh2 throws when the connection is already closed.
      finish(new FlightdeckError('SSH_UNREACHABLE', `Cannot run a command on the SSH server: ${(e as Error).message}.`, 'The SSH connection is down; Flightdeck reconnects on its own.'));
    }
  });
}

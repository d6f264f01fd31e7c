// Dropping and restoring the test sshd mid-session, for tests of tunnel loss and reconnection.
// Everything is found from the files the daemon was started with, so any test worker can do it,
// and the global teardown can still stop a daemon a worker restarted.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { pidAlive } from '../../main/servers/postgres-cluster';
import { waitForPort, waitForPortClosed } from './ports';
import type { SshdTestServer } from './servers';

export const sshdBinary = '/usr/sbin/sshd';

type SshdFiles = Pick<SshdTestServer, 'port' | 'configFile' | 'pidFile' | 'logFile'>;

/** Starts `sshd -D` detached (it outlives the worker that started it) and waits until it accepts. */
export async function spawnSshd(files: SshdFiles): Promise<void> {
  fs.rmSync(files.pidFile, { force: true });
  // sshd re-executes itself and so needs to be started by its absolute path.
  const child = spawn(sshdBinary, ['-D', '-f', files.configFile, '-E', files.logFile], { stdio: 'ignore', detached: true });
  child.unref();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = (async () => {
    await waitForPort(files.port, 15_000);
    for (const deadline = Date.now() + 5000; !fs.existsSync(files.pidFile); ) {
      if (Date.now() > deadline) throw new Error(`sshd did not write ${files.pidFile}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const outcome = await Promise.race([ready.then(() => 'ready' as const), exited.then(() => 'exited' as const)]);
  if (outcome === 'exited') throw new Error(`sshd exited at start:\n${logTail(files.logFile)}`);
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

function descendants(root: number): number[] {
  let rows: number[][];
  try {
    rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter((r) => r.length === 2);
  } catch {
    return [];
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of rows) {
      if (ppid === parent && pid !== undefined) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

function daemonPid(info: SshdFiles): number | undefined {
  try {
    const pid = Number(fs.readFileSync(info.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface KillOptions {
  /** SIGKILL (default) drops everything at once, like a crashed host; SIGTERM is an orderly stop. */
  signal?: 'SIGKILL' | 'SIGTERM';
  /** Also kill the per-connection processes, so open sessions and tunnels break (default true).
   * Without it only new connections are refused, as when sshd alone is restarted. */
  dropSessions?: boolean;
}

/** Stops the daemon (and by default its open sessions) and waits until the port is closed. */
export async function killSshd(info: SshdFiles, opts: KillOptions = {}): Promise<void> {
  const pid = daemonPid(info);
  if (pid !== undefined) {
    const victims = [pid, ...(opts.dropSessions === false ? [] : descendants(pid))];
    for (const p of victims) {
      try {
        process.kill(p, opts.signal ?? 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
    const deadline = Date.now() + 10_000;
    while (victims.some(pidAlive)) {
      if (Date.now() > deadline) throw new Error(`sshd processes ${victims.filter(pidAlive).join(', ')} did not exit`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await waitForPortClosed(info.port, 10_000);
}

/** Starts the daemon again with the same configuration and port, and waits until it accepts. */
export async function restartSshd(info: SshdFiles): Promise<void> {
  if (daemonPid(info) !== undefined) throw new Error('sshd is still running; killSshd() it first');
  await waitForPortClosed(info.port, 10_000);
  await spawnSshd(info);
}

// `flightdeck <command>`: the core's services for terminals and CI pipelines.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCommand, checkHelp } from './check-command';
import { connectCommand, connectHelp } from './connect-command';
import { migrateCommand, migrateHelp } from './migrate-command';
import { monitorCommand, monitorHelp } from './monitor-command';
import { planCommand, planHelp } from './plan-command';
import { sandboxCommand, sandboxHelp } from './sandbox-command';
import { serveCommand, serveHelp } from './serve-command';
import { version } from '../version';

const help = `Flightdeck ${version}: a DBA cockpit for migration windows.

Usage: flightdeck <command> [options]

Commands:
  check           Phase 0: every prerequisite of a migration window, then the gate's verdict
  connect <url>   test a connection: version, user, privileges, read/write probe
  migrate <action> <url> --migrations DIR
                  status, up [N], down [N], goto V, force V: run a migration set safely
  plan            Phase 1: classify, lock-analyse and lint every statement of a migration set
  monitor <url>   sample pool, locks, replication, activity and statements every second
  serve           serve the cockpit in a browser on 127.0.0.1
  sandbox         run the built-in PostgreSQL primary + streaming replica with demo data

Run flightdeck <command> --help for its options.`;

/** The built renderer sits beside the bundle: dist/main/cli.js -> dist/renderer. */
function rendererDir(): string {
  return process.env.FLIGHTDECK_RENDERER_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'renderer');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check':
      return checkCommand(rest);
    case 'connect':
      return connectCommand(rest);
    case 'migrate':
      return migrateCommand(rest);
    case 'monitor':
      return monitorCommand(rest);
    case 'plan':
      return planCommand(rest);
    case 'serve':
      return serveCommand(rest, rendererDir());
    case 'sandbox':
      return sandboxCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      const topic = { check: checkHelp, connect: connectHelp, migrate: migrateHelp, monitor: monitorHelp, plan: planHelp, serve: serveHelp, sandbox: sandboxHelp }[rest[0] ?? ''];
      process.stdout.write(`${topic ?? help}\n`);
      return 0;
    }
    default:
      process.stderr.write(`error INVALID_INPUT: unknown command "${command}".\nhint: run flightdeck --help for the list of commands.\n`);
      return 2;
  }
}

/** Runs the command line and exits with its code (bin/flightdeck.js and `node dist/main/cli.js`). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => exitAfterFlush(code),
    (e: unknown) => {
      process.stderr.write(`error INTERNAL: ${(e as Error).message}\nhint: this is a bug in Flightdeck.\n`);
      exitAfterFlush(1);
    },
  );
}

/** Exits once stdout and stderr are written out: into a pipe, process.exit() right after a large
 * write would cut the output at the pipe's buffer (64 KiB). */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && fs.existsSync(process.argv[1]) && fs.realpathSync(process.argv[1]) === self) run();

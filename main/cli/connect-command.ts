// `flightdeck connect <url>`: the test-connection result for one database, directly or through SSH.
import { parseArgs } from 'node:util';
import type { TestResult } from '../../shared/api';
import { inspectConnection } from '../connections/connect';
import { exitCodes, fail, usage } from './output';
import { openTarget, secretsHelp, targetFromArgs, targetHelp, targetOptions } from './target';

export const connectHelp = `Usage: flightdeck connect <url> [options]

Connects to one database and prints its version, the current user and what the user may do,
then probes reading and writing (the write probe leaves nothing behind).

  <url>                     postgres://user@host:5432/db?sslmode=require, mysql://user@host/db,
                            mongodb://user@host/db (a password in the URL works but is visible
                            to other local users; prefer the environment)
${targetHelp}
  --no-write-probe          only read
  --json                    print {"ok":true,"result":…} or {"ok":false,"error":…}

${secretsHelp}
Exit codes: 0 connected, 1 connection failed, 2 bad command line or URL.`;

export async function connectCommand(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...targetOptions,
        'no-write-probe': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json;
    if (values.help) {
      process.stdout.write(`${connectHelp}\n`);
      return exitCodes.ok;
    }
    if (positionals.length !== 1) throw usage('connect takes exactly one connection URL.', connectHelp.split('\n')[0]!);
    const target = await targetFromArgs(positionals[0]!, values);
    const conn = await openTarget(target, { role: 'connect' });
    let result: TestResult;
    try {
      result = await inspectConnection(conn, { writeProbe: !values['no-write-probe'] });
    } finally {
      await conn.close();
    }
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, result }, null, 2)}\n`);
    else process.stdout.write(formatResult(result));
    return exitCodes.ok;
  } catch (e) {
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      return fail(usage(e.message, 'Run `flightdeck connect --help`.'), json);
    }
    return fail(e, json);
  }
}

export function formatResult(r: TestResult): string {
  const lines = [
    `connected   ${r.engine} ${r.serverVersion}${r.inRecovery ? ' (read-only standby)' : ''}`,
    `server      ${r.versionBanner}`,
    `user        ${r.currentUser}${r.sessionUser && r.sessionUser !== r.currentUser ? ` (session ${r.sessionUser})` : ''}`,
    `database    ${r.database || '(none)'}`,
    `route       ${r.via.address}${r.via.ssh ? ` via ssh ${r.via.ssh.host}:${r.via.ssh.port}${r.via.ssh.jump ? ` via ${r.via.ssh.jump}` : ''} (local port ${r.via.ssh.localPort})` : ' direct'}`,
    `tls         ${r.tls.enabled ? `on${r.tls.protocol ? ` ${r.tls.protocol}` : ''}${r.tls.cipher ? ` ${r.tls.cipher}` : ''}` : 'off'}`,
    `attributes  ${Object.entries(r.attributes).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`,
    'grants',
    ...r.grants.map((g) => `  ${g}`),
    `probe       read ${r.probe.read}, write ${r.probe.write}`,
    `            ${r.probe.detail}`,
    `latency     ${r.latencyMs} ms`,
  ];
  return `${lines.join('\n')}\n`;
}

// Log lines go to the event bus (the cockpit's log panel) and to stderr when asked. Messages are
// redacted of anything that looks like a credential before they leave this module.
import type { EventBus } from './events';
import type { LogLine } from '../shared/api';

export interface Logger {
  debug(source: string, message: string): void;
  info(source: string, message: string): void;
  warn(source: string, message: string): void;
  error(source: string, message: string): void;
}

const redactions: [RegExp, string][] = [
  // user:password@ in URLs, up to the last '@' before the query (passwords may hold '/' or '@')
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^\s?#]*@/gi, '$1***@'],
  // password=… in conninfo strings and query strings
  [/((?:password|passwd|pwd|passphrase)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;]+)/gi, '$1***'],
  // SQL that sets a password: ALTER ROLE … PASSWORD '…', CREATE USER … IDENTIFIED BY '…'
  [/(\b(?:password|identified\s+by)\s+)('(?:[^']|'')*'|"[^"]*")/gi, "$1'***'"],
];

export function redact(message: string): string {
  return redactions.reduce((m, [re, to]) => m.replace(re, to), message);
}

export function createLogger(bus: EventBus | undefined, opts: { stderr?: boolean; minLevel?: LogLine['level'] } = {}): Logger {
  const order = ['debug', 'info', 'warn', 'error'] as const;
  const min = order.indexOf(opts.minLevel ?? 'info');
  const write = (level: LogLine['level'], source: string, message: string) => {
    const line: LogLine = { time: new Date().toISOString(), level, source, message: redact(message) };
    bus?.emit('log/line', line);
    if (opts.stderr && order.indexOf(level) >= min) process.stderr.write(`${line.time} ${level.padEnd(5)} [${source}] ${line.message}\n`);
  };
  return {
    debug: (s, m) => write('debug', s, m),
    info: (s, m) => write('info', s, m),
    warn: (s, m) => write('warn', s, m),
    error: (s, m) => write('error', s, m),
  };
}

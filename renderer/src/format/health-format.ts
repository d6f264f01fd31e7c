// Numbers as the health panels print them: short, fixed-width friendly, units always shown.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** Durations as a DBA reads them in pg_activity: 850 ms, 12.4 s, 3 m 07 s, 2 h 05 m, 3 d 4 h. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${String(m % 60).padStart(2, '0')} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 10) return `${seconds.toFixed(seconds < 1 ? 2 : 1)} s`;
  return formatDuration(seconds * 1000);
}

/** Per-second rates: enough digits to tell 0.02/s from nothing, none wasted on 1,234/s. */
export function formatRate(perSec: number | null | undefined): string {
  if (perSec === null || perSec === undefined) return '—';
  if (perSec === 0) return '0';
  if (perSec < 0.1) return perSec.toFixed(2);
  if (perSec < 10) return perSec.toFixed(1);
  return Math.round(perSec).toLocaleString('en-US');
}

export function formatMsValue(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString('en-US');
}

/** 24-hour clock, seconds included: samples come every second. */
export function formatClockTime(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** A chart's time ticks: seconds only matter on short ranges; on a day the date matters instead. */
export function timeTickFormatter(spanMs: number): (t: number) => string {
  const two = (n: number) => String(n).padStart(2, '0');
  if (spanMs <= 30 * 60_000) return (t) => formatClockTime(t);
  if (spanMs <= 36 * 3_600_000) return (t) => {
    const d = new Date(t);
    return `${two(d.getHours())}:${two(d.getMinutes())}`;
  };
  return (t) => {
    const d = new Date(t);
    return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
  };
}

/** One line of SQL for a table cell; the full text goes in the title. */
export function oneLine(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

/** A configured limit as people say it: "60 s", "5 min", "2 h" (not "1 m 00 s"). */
export function formatLimit(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${+(ms / 1000).toFixed(1)} s`;
}

/** How a panel names a server session: PostgreSQL's pid, MySQL's connection id, MongoDB's operation
 * id, or, for a MongoDB idle transaction (no operation), the start of its logical session id. */
export function sessionLabel(s: { pid: number; sessionId?: string }, engine?: string): string {
  if (s.sessionId) return `session ${s.sessionId.slice(0, 8)}`;
  if (engine === 'mongodb') return `op ${s.pid}`;
  if (engine === 'mysql') return `id ${s.pid}`;
  return `pid ${s.pid}`;
}

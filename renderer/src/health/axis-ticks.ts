// Axis ticks computed here rather than by recharts: its number ticks on epoch milliseconds land on
// odd instants (and, on a time scale, repeat), while a DBA reads a chart by round clock times.

const timeSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400].map((s) => s * 1000);

/** Round local clock times between from and to, at most maxTicks of them. */
export function timeTicks(from: number, to: number, maxTicks: number): number[] {
  const span = to - from;
  if (!(span > 0) || maxTicks < 1) return [];
  const step = timeSteps.find((s) => span / s <= maxTicks) ?? timeSteps[timeSteps.length - 1]!;
  // Align to the local clock, so an hourly step ticks on the hour where the user is.
  const offset = -new Date(from).getTimezoneOffset() * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil((from + offset) / step) * step - offset; t <= to; t += step) ticks.push(t);
  return ticks;
}

/** The smallest "round" number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n) at or above v. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  const f = v / exp;
  const nice = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((n) => f <= n + 1e-9) ?? 10;
  return nice * exp;
}

// Silencing a rule is a decision, so it needs a reason: `-- flightdeck:ignore <rule>[,<rule>]
// reason: <why>` silences the next statement, `-- flightdeck:ignore-file <rule> reason: <why>` the
// whole file. The finding stays in the record, marked silenced with the reason and the comment's line.

export interface Silence {
  rules: string[];
  reason: string | null;
  line: number;
  scope: 'statement' | 'file';
}

const pattern = /--\s*flightdeck:ignore(-file)?\s+([\w-]+(?:\s*,\s*[\w-]+)*)(?:\s+reason:\s*(.*\S))?\s*$/i;

export function readSilences(text: string): Silence[] {
  const out: Silence[] = [];
  text.split('\n').forEach((l, i) => {
    const m = pattern.exec(l);
    if (m) out.push({ rules: m[2]!.split(',').map((r) => r.trim().toLowerCase()), reason: m[3]?.trim() || null, line: i + 1, scope: m[1] ? 'file' : 'statement' });
  });
  return out;
}

/** The silence that covers a finding of `rule` on the statement starting at `line` (whose previous
 * statement started at `prevLine`), if any: a statement silence must sit between the two. */
export function silenceFor(silences: Silence[], rule: string, line: number, prevLine: number): Silence | undefined {
  return silences.find((s) => s.rules.includes(rule) && s.reason && (s.scope === 'file' || (s.line < line && s.line >= prevLine)));
}

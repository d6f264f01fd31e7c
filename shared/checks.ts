// Checks and gates: one verifiable item of a phase with its severity, status and evidence, and the
// rule that decides from them whether the phase may proceed (WORKFLOW.md, "If any validation fails").
import { z } from 'zod';

export const severities = ['critical', 'high', 'medium'] as const;
export type Severity = (typeof severities)[number];

/** pass; fail (the check ran and found the problem); error (it could not run, so nothing is
 * verified); skipped (not configured, with the reason); pending (an attestation nobody gave yet);
 * running / queued while a run is under way. */
export const checkStatuses = ['queued', 'running', 'pass', 'fail', 'error', 'skipped', 'pending'] as const;
export type CheckStatus = (typeof checkStatuses)[number];

export const evidenceSchema = z.object({
  /** Label: value lines, e.g. "pg_dump": "16.4 at /usr/bin/pg_dump". */
  facts: z.array(z.tuple([z.string(), z.string()])).default([]),
  /** Tables of rows, e.g. the largest tables side by side. */
  tables: z.array(z.object({ title: z.string(), columns: z.array(z.string()), rows: z.array(z.array(z.string())) })).default([]),
  /** Verbatim text: a schema diff, a command's output. */
  text: z.string().optional(),
  /** Files the check wrote (a dump, a baseline). */
  files: z.array(z.string()).default([]),
});
export type Evidence = z.infer<typeof evidenceSchema>;

export const checkResultSchema = z.object({
  id: z.string(),
  phase: z.number().int(),
  title: z.string(),
  severity: z.enum(severities),
  status: z.enum(checkStatuses),
  /** One sentence: what was found. */
  summary: z.string(),
  /** What to do when it did not pass. */
  hint: z.string().optional(),
  evidence: evidenceSchema,
  startedAt: z.string().optional(),
  durationMs: z.number().optional(),
  /** For a medium failure the DBA chose to accept: who, when and why (goes into the record). */
  accepted: z.object({ by: z.string(), at: z.string(), reason: z.string() }).optional(),
  /** For an attestation: who confirmed and when. */
  attested: z.object({ by: z.string(), at: z.string() }).optional(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

export const verdicts = ['pass', 'pass-with-accepted-risks', 'accept-or-fix', 'fix-first', 'stop', 'incomplete'] as const;
export type Verdict = (typeof verdicts)[number];

export const gateSchema = z.object({
  verdict: z.enum(verdicts),
  mayProceed: z.boolean(),
  /** What the verdict means and what to do, in WORKFLOW.md's words. */
  message: z.string(),
  blocking: z.array(z.string()),
});
export type Gate = z.infer<typeof gateSchema>;

/**
 * WORKFLOW.md's rule: a critical failure (no backup, no rollback scripts) stops the window; a high
 * one (staging mismatch, syntax errors) must be fixed first; a medium one (no baseline) may be
 * accepted with a written reason. A check that could not run verified nothing and counts as failed;
 * a pending attestation blocks like a failure of its severity.
 */
export function decideGate(checks: CheckResult[]): Gate {
  const failing = (c: CheckResult) => c.status === 'fail' || c.status === 'error' || c.status === 'pending';
  const unfinished = checks.filter((c) => c.status === 'queued' || c.status === 'running');
  if (unfinished.length) return { verdict: 'incomplete', mayProceed: false, message: `${unfinished.length} check(s) have not finished.`, blocking: unfinished.map((c) => c.id) };
  const critical = checks.filter((c) => c.severity === 'critical' && failing(c));
  if (critical.length) {
    return { verdict: 'stop', mayProceed: false, message: `STOP, do not proceed: ${critical.map((c) => c.title).join('; ')}.`, blocking: critical.map((c) => c.id) };
  }
  const high = checks.filter((c) => c.severity === 'high' && failing(c));
  if (high.length) return { verdict: 'fix-first', mayProceed: false, message: `Fix before proceeding: ${high.map((c) => c.title).join('; ')}.`, blocking: high.map((c) => c.id) };
  const medium = checks.filter((c) => c.severity === 'medium' && failing(c));
  const unaccepted = medium.filter((c) => !c.accepted);
  if (unaccepted.length) {
    return { verdict: 'accept-or-fix', mayProceed: false, message: `Fix, or accept with a written reason and proceed with caution: ${unaccepted.map((c) => c.title).join('; ')}.`, blocking: unaccepted.map((c) => c.id) };
  }
  if (medium.length) return { verdict: 'pass-with-accepted-risks', mayProceed: true, message: `Proceed with caution; accepted: ${medium.map((c) => `${c.title} (${c.accepted!.reason})`).join('; ')}.`, blocking: [] };
  return { verdict: 'pass', mayProceed: true, message: 'All checks passed.', blocking: [] };
}

export const phase0ReportSchema = z.object({
  phase: z.literal(0),
  startedAt: z.string(),
  finishedAt: z.string(),
  production: z.string(),
  staging: z.string().nullable(),
  migrations: z.string().nullable(),
  checks: z.array(checkResultSchema),
  gate: gateSchema,
});
export type Phase0Report = z.infer<typeof phase0ReportSchema>;

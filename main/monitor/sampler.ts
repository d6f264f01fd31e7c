// What the monitor service asks of each engine: read one sample through the target's dedicated
// monitoring session. Samplers keep the previous counters themselves to turn them into rates.
import type { Sample } from '../../shared/monitor';
import type { SqlSession } from '../connections/adapter';

export interface SamplerOptions {
  profileId: string;
  /** Queries and transactions running longer than this are listed (default 60 s). */
  longRunningMs: number;
  /** How many statements the statements panel lists. */
  topStatements: number;
  /** Mean time per statement id from a saved baseline, when there is one. */
  baseline?: ReadonlyMap<string, number>;
}

export interface Sampler {
  /** Never throws for one panel: a panel that fails is reported in `errors` and left out. Throws
   * only when the session itself is unusable (connection-level FlightdeckError). */
  sample(): Promise<Sample>;
}

export type SamplerFactory = (session: SqlSession, opts: SamplerOptions) => Sampler;

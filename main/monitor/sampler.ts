// What the monitor service asks of each engine: read one sample through the target's dedicated
// monitoring session. Samplers keep the previous counters themselves to turn them into rates.
import type { Sample } from '../../shared/monitor';
import { isMongoSession, isSqlSession, type EngineSession, type MongoDbSession, type SqlSession } from '../connections/adapter';

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
  /**
   * Work that is too costly for every sample's time (PostgreSQL: reading pg_stat_statements, whose
   * cost grows with the number of statements tracked), done on the same session in the gap after
   * a sample, when due and when it fits in budgetMs; the following samples carry its result. The
   * monitor calls it right after each sample, never beside one. Never throws.
   */
  between?(budgetMs: number): Promise<void>;
}

/** Makes the sampler of one target from its monitoring session (see forSql / forMongo). */
export type SamplerFactory = (session: EngineSession, opts: SamplerOptions) => Sampler;

/** A factory for samplers that need a SQL session (PostgreSQL, MySQL). */
export function forSql<O, T>(make: (session: SqlSession, opts: O) => T): (session: EngineSession, opts: O) => T {
  return (session, opts) => {
    if (!isSqlSession(session)) throw new Error(`a SQL sampler was given a ${session.engine} session`);
    return make(session, opts);
  };
}

/** A factory for samplers that need the MongoDB driver. */
export function forMongo<O, T>(make: (session: MongoDbSession, opts: O) => T): (session: EngineSession, opts: O) => T {
  return (session, opts) => {
    if (!isMongoSession(session)) throw new Error(`a MongoDB sampler was given a ${session.engine} session`);
    return make(session, opts);
  };
}

/** Makes calls of `fn` run one after another, each after the previous has settled: two samples
 * running at once would corrupt each other's counters and rates. */
export function oneAtATime<T>(fn: () => Promise<T>): () => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return () => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };
}

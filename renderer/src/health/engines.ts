import type { Engine } from '../../../shared/profile';

/** Engines the core has health samplers for (main/monitor/samplers.ts); the Health view is offered
 * only for these, rather than opened to say "not available". */
export const healthEngines: ReadonlySet<Engine> = new Set<Engine>(['postgres', 'mysql', 'mongodb']);

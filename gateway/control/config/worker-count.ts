import { availableParallelism } from 'node:os';
import type { Config } from './schema.ts';

/** How many proxy processes `workers` asks for: one per core for `auto`. */
export function workerCount(config: Pick<Config, 'workers'>): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

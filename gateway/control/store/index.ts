import type { ConfigStore } from '../types.ts';
import { FileConfigStore } from './file.ts';
import { RedisConfigStore } from './redis.ts';

export { FileConfigStore } from './file.ts';
export { RedisConfigStore } from './redis.ts';

export type StoreOptions =
  | { kind: 'file'; dir: string; historyLimit?: number }
  | { kind: 'redis'; url: string; prefix?: string; historyLimit?: number; onError?: (err: Error) => void };

/** Single node keeps versions in a directory; a cluster shares them through Redis. */
export function createStore(options: StoreOptions): ConfigStore {
  switch (options.kind) {
    case 'file':
      return new FileConfigStore({ dir: options.dir, historyLimit: options.historyLimit });
    case 'redis':
      return new RedisConfigStore({
        url: options.url,
        prefix: options.prefix,
        historyLimit: options.historyLimit,
        onError: options.onError,
      });
  }
}

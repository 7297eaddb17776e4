import type { ConfigStore } from '../types.ts';
import { FileConfigStore } from './file.ts';

export { FileConfigStore } from './file.ts';
export { ConfigConflictError } from './conflict.ts';

export type StoreOptions =
  | { kind: 'file'; dir: string; historyLimit?: number }
  | {
      kind: 'redis';
      url: string;
      prefix?: string;
      historyLimit?: number;
      onError?: (err: Error) => void;
      onOk?: () => void;
    };

/**
 * Single node keeps versions in a directory; a cluster shares them through
 * Redis. The Redis store (and ioredis) is loaded only when asked for, so a
 * single node does not carry it in memory.
 */
export async function createStore(options: StoreOptions): Promise<ConfigStore> {
  switch (options.kind) {
    case 'file':
      return new FileConfigStore({ dir: options.dir, historyLimit: options.historyLimit });
    case 'redis': {
      const { RedisConfigStore } = await import('./redis.ts');
      return new RedisConfigStore({
        url: options.url,
        prefix: options.prefix,
        historyLimit: options.historyLimit,
        onError: options.onError,
        onOk: options.onOk,
      });
    }
  }
}

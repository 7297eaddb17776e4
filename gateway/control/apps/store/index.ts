import { join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import type { StoreHealthHooks } from '../../../log.ts';
import type { AppStore } from '../doc.ts';
import { FileAppStore } from './file.ts';

/** Apps live beside config edits: the file store's directory, or the same Redis and prefix. */
export async function openAppStore(config: Config, health: StoreHealthHooks): Promise<AppStore> {
  const s = config.store;
  if (s.kind === 'redis') {
    const { RedisAppStore } = await import('./redis.ts');
    return new RedisAppStore({ url: s.redis_url, prefix: s.prefix, ...health });
  }
  return new FileAppStore(join(s.dir, 'identity'));
}

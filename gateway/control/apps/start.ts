import type { Config } from '../config/schema.ts';
import { outageLog, type Logger, type StoreHealthHooks } from '../../log.ts';
import type { TokensConfig } from '../../proxy/stages/token-endpoint/schema.ts';
import type { IdentityWire } from './identity.ts';
import { IdentityManager } from './manager.ts';
import { openAppStore } from './store/index.ts';

/** Opens the app store next to the config store, loads apps and keys, pushes them once and keeps pushing changes. */
export async function startIdentity(
  config: Config,
  push: (wire: IdentityWire) => void,
  tokens: () => TokensConfig,
  log: Logger,
  health: StoreHealthHooks = outageLog(log, 'app store (redis)'),
): Promise<IdentityManager> {
  const store = await openAppStore(config, health);
  const manager = new IdentityManager({ store, push, tokens, log: log.child({ component: 'apps' }) });
  try {
    await manager.start();
  } catch (err) {
    await manager.close().catch(() => undefined);
    throw err;
  }
  return manager;
}

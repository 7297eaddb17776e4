// Services, stores and data-plane ports for the ConfigManager's tests.
import type { DataPlanePort } from './config-manager.ts';
import type { FileConfigStore } from './store/file.ts';
import type { ConfigStore, RawConfig } from './types.ts';

export const service = (name: string) => ({
  name,
  routes: [{ paths: [`/${name}`] }],
  upstream: { targets: [{ url: 'http://127.0.0.1:9' }] },
});
export const servicesOf = (config: RawConfig) => (config.services as Array<{ name: string }>).map((s) => s.name);

/**
 * A store another writer always beats: before each of this node's appends,
 * a second store on the same directory appends a version of its own (a
 * real lost race, refused by the file store's compare-and-set).
 */
export function beatenEveryTime(
  own: FileConfigStore,
  rival: FileConfigStore,
): ConfigStore & { rivalVersions: number[] } {
  const rivalVersions: number[] = [];
  return {
    rivalVersions,
    head: () => own.head(),
    get: (v) => own.get(v),
    list: (n) => own.list(n),
    watch: () => {},
    close: () => own.close(),
    async append(v, base) {
      const head = (await rival.head())!;
      const config = {
        ...head.config,
        services: [...(head.config.services as unknown[]), service(`rival${rivalVersions.length}`)],
      };
      rivalVersions.push((await rival.append({ ...head, config, source: 'admin', note: 'another writer' })).version);
      return own.append(v, base);
    },
  };
}

export function port(applied: number[], conflicts: string[] = []): DataPlanePort {
  return {
    apply: (_c, v) => {
      applied.push(v);
    },
    health: () => [],
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    onConflict: (r) => conflicts.push(r),
  };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../gateway/control/config/load.ts';
import { createLogger } from '../../gateway/log.ts';
import { startSingle, type RunningGateway } from '../../gateway/process/single.ts';

export interface TestGateway extends RunningGateway {
  /** Base URL of the proxy listener, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The port a listener of `listeners` took (they listen on what their config says; tests use port 0). */
  port(listener: string): number;
  /** Base URL of the admin listener. */
  adminUrl: string;
  file: string;
  dir: string;
  /** Rewrites the config file (YAML) — a reload then follows the file watcher or SIGHUP. */
  writeConfig(config: Record<string, unknown>): void;
}

/**
 * Runs a real gateway in this process (workers: 1) from a config object:
 * listeners on 127.0.0.1:0, a fresh file store in a temp dir. Log level
 * `silent` unless TOLLGATE_TEST_LOG is set.
 */
export async function startGateway(config: Record<string, unknown>): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const file = join(dir, 'tollgate.yaml');
  const full = {
    ...config,
    proxy: { listen: '127.0.0.1:0', ...(config.proxy as object) },
    admin: { listen: '127.0.0.1:0', ...(config.admin as object) },
    store: { dir: join(dir, 'store'), ...(config.store as object) },
    events: { dir: join(dir, 'events'), ...(config.events as object) },
    log: { level: process.env.TOLLGATE_TEST_LOG ?? 'silent', ...(config.log as object) },
  };
  writeFileSync(file, stringify(full));
  const loaded = loadConfigFile(file);
  if (!loaded.ok) throw new Error(`test config invalid: ${JSON.stringify(loaded.errors)}`);
  const gw = await startSingle(
    { file, raw: loaded.raw!, text: loaded.text!, config: loaded.config },
    createLogger(loaded.config.log.level),
  );
  return testGatewayOf(gw, file, dir, (c) =>
    writeFileSync(
      file,
      stringify({
        ...full,
        ...c,
        proxy: full.proxy,
        admin: full.admin,
        store: full.store,
        events: full.events,
        log: full.log,
      }),
    ),
  );
}

/** A started gateway as tests use it. */
export function testGatewayOf(
  gw: RunningGateway,
  file: string,
  dir: string,
  writeConfig: TestGateway['writeConfig'],
): TestGateway {
  return {
    ...gw,
    url: `http://127.0.0.1:${gw.proxy.port}`,
    port: (listener) => {
      const address = gw.listeners.get(listener);
      if (address === undefined) throw new Error(`no listener ${listener}`);
      return address.port;
    },
    adminUrl: `http://127.0.0.1:${gw.admin.port}`,
    file,
    dir,
    writeConfig,
  };
}

/**
 * The events setting of in-process nodes sharing a Redis config store: none. A joining node runs with the
 * cluster's config, events.dir included, which the first node holds (one gateway per event log), so it would
 * refuse to start.
 */
export const NO_EVENTS = { sink: 'none' } as const;

/** One service `name` with the given routes and static targets. */
export function service(
  name: string,
  targets: string[],
  routes: Record<string, unknown>[] = [{ paths: ['/'] }],
  upstream: Record<string, unknown> = {},
) {
  return { name, routes, upstream: { targets: targets.map((url) => ({ url })), ...upstream } };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns truthy or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!v && Date.now() < end) {
    await sleep(stepMs);
    v = await fn();
  }
  return v;
}

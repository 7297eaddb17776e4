/**
 * Settings the gateway reads once, when it starts: the processes it forks, the addresses of its main and admin
 * listeners, the stores and the event pipeline it opens. A reload that changes one applies the rest of the config,
 * and this one waits for a restart; the config manager says which (log, admin replies, metric).
 */
import type { Config } from './schema.ts';
import { sameData } from './same-data.ts';

export const RESTART_ONLY = [
  'workers',
  'proxy.listen',
  'proxy.tls_files_check_ms',
  'proxy.release_memory_after_idle_ms',
  'admin.listen',
  'admin.max_body_bytes',
  'admin.tls.handshake_timeout_ms',
  'log.access_log',
  'store',
  'events.sink',
  'events.node',
  'events.dir',
  'events.max_bytes',
  'events.kafka',
  'reports',
  'tracing.max_queue_spans',
] as const;

function at(config: Config, path: string): unknown {
  let value: unknown = config;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

/** The restart-only settings `serving` holds other than the process started with, in RESTART_ONLY's order. */
export function restartPending(startedWith: Config, serving: Config): string[] {
  return RESTART_ONLY.filter((path) => !sameData(at(startedWith, path), at(serving, path)));
}

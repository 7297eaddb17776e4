import type { Dispatcher } from 'undici';
import { request } from '../undici.ts';

export interface HttpProbe {
  /** Path with optional query, starting with `/`. */
  path: string;
  /** Host header to send; the target's own host:port when absent. */
  host?: string;
  /** TLS server name (the target's); undici takes the Host's name when absent. */
  servername?: string;
  expectedStatuses: ReadonlySet<number>;
  dispatcher: Dispatcher;
  /** Keep the connection for the next check instead of closing it after this one. */
  reuseConnection?: boolean;
}

/** Largest health response body read before the connection is dropped. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * GETs `origin + path`; resolves true when the status is expected, false
 * otherwise, and rejects on connection errors and when `signal` aborts.
 */
export async function probeHttp(origin: string, probe: HttpProbe, signal: AbortSignal): Promise<boolean> {
  const { statusCode, body } = await request(probe.dispatcher, {
    origin: origin.replace(/\/$/, ''),
    path: probe.path,
    method: 'GET',
    headers: probe.host === undefined ? undefined : { host: probe.host },
    servername: probe.servername,
    signal,
    // By default a fresh connection per check: it proves the target still
    // accepts connections, and no idle socket can race the upstream's
    // keep-alive close. Reuse trades that for no connect per check.
    reset: probe.reuseConnection !== true,
  } as Dispatcher.RequestOptions);
  // The body must be consumed (or dropped) before the check counts as done.
  await body.dump({ limit: MAX_BODY_BYTES, signal });
  return probe.expectedStatuses.has(statusCode);
}

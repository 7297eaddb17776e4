import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * The three pieces of undici the gateway uses, loaded from the modules
 * undici's own index re-exports them from.
 *
 * The index also loads fetch, WebSocket, EventSource, the caches and cookies,
 * and its cookie module reads `globalThis.Headers`, which makes Node load its
 * own bundled copy of undici as well: ~3.4 MB of heap (and 85 more modules)
 * that an idle gateway kept for nothing. A test checks these are the very
 * classes the index exports, so an undici upgrade that moves them fails loudly.
 */
const require = createRequire(import.meta.url);

export const Pool: typeof Undici.Pool = require('undici/lib/dispatcher/pool.js');
export const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
export type Pool = Undici.Pool;
export type Agent = Undici.Agent;

const apiRequest: (this: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData> =
  require('undici/lib/api/api-request.js');

/** `dispatcher.request(opts)`, which the index adds to every dispatcher's prototype. */
export function request(dispatcher: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  return apiRequest.call(dispatcher, opts);
}

import { createRequire } from 'node:module';
import type * as Http from 'node:http';

/**
 * node:http through require, not an ESM import. An ESM import builds the
 * module's namespace from every export, and `http.WebSocket` is a lazy getter
 * that loads Node's bundled undici (fetch, WebSocket, web streams): ~4 MB of
 * heap an idle gateway never uses. Take these values from here; types can
 * still come from 'node:http' with `import type`, which is erased.
 */
const http: typeof Http = createRequire(import.meta.url)('node:http');

export const { createServer, STATUS_CODES, ServerResponse, IncomingMessage } = http;

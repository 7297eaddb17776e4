import { createRequire, Module } from 'node:module';
import { isIP } from 'node:net';
import type * as Undici from 'undici';

/**
 * The pieces of undici the gateway uses, loaded from the modules
 * undici's own index re-exports them from.
 *
 * The index also loads fetch, WebSocket, EventSource, the caches and cookies,
 * and its cookie module reads `globalThis.Headers`, which makes Node load its
 * own bundled copy of undici as well: ~3.4 MB of heap (and 85 more modules)
 * that an idle gateway kept for nothing. A test checks these are the very
 * classes the index exports, so an undici upgrade that moves them fails loudly.
 */
const require = createRequire(import.meta.url);

/**
 * undici's client.js loads its HTTP/2 half (client-h2.js) up front, and that
 * loads node:http2 and through it node:tls: ~2 MB of an idle gateway's RSS
 * (docs/performance.md). The gateway's pools and checks never offer HTTP/2
 * (`allowH2: false`), so client.js gets a stand-in that loads the real module
 * on its first call, which only a connection that negotiated h2 makes.
 */
function deferHttp2Client(): void {
  const file = require.resolve('undici/lib/dispatcher/client-h2.js');
  if (require.cache[file] !== undefined) return;
  let connectH2: ((...args: unknown[]) => unknown) | undefined;
  const standIn = new Module(file);
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = function connectH2Deferred(...args: unknown[]): unknown {
    if (connectH2 === undefined) {
      delete require.cache[file];
      connectH2 = require(file) as (...args: unknown[]) => unknown;
    }
    return connectH2(...args);
  };
  require.cache[file] = standIn;
}
deferHttp2Client();

export const Pool: typeof Undici.Pool = require('undici/lib/dispatcher/pool.js');
export const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
export const Client: typeof Undici.Client = require('undici/lib/dispatcher/client.js');
export type Pool = Undici.Pool;
export type Agent = Undici.Agent;
export type Client = Undici.Client;
const buildConnector: typeof Undici.buildConnector = require('undici/lib/core/connect.js');

/**
 * undici's connector, except that a TLS server name that is an IP address is
 * dropped before the handshake. An https target written as an address is
 * dispatched with that address as its server name, so undici neither takes the
 * name from a preserved client Host nor reconnects when that Host changes; RFC
 * 6066 allows names only in SNI (Node would send it and warn DEP0123), and with
 * no name Node checks the certificate against the address connected to.
 */
export function connector(options: Undici.buildConnector.BuildOptions): Undici.buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts.servername && isIP(opts.servername) ? { ...opts, servername: undefined } : opts, (...args) => {
      // undici calls back a failed connect with the error alone.
      const socket = args[1];
      if (socket) {
        // Bytes read past the connect (a TLS handshake's are before it) were an earlier response's.
        const connectedBytes = socket.bytesRead;
        socket.on('error', (err) => {
          if (socket.bytesRead > connectedBytes) reusedLost.add(err);
        });
      }
      callback(...args);
    });
}

/** Errors that ended a connection after it had carried a response: undici hands the same object to the request. */
const reusedLost = new WeakSet<Error>();

/**
 * Whether an upstream error ended a connection that had carried a response before: a kept-alive one, reused.
 * undici fails a request on it with the socket's own error (a reset) or with the one it destroys the socket with
 * ("other side closed"), and both pass the socket's 'error' listeners first.
 */
export const onReusedConnection = (err: Error): boolean => reusedLost.has(err);

/**
 * What a pool or a health check's client and its connector take to speak a
 * target's protocol: HTTP/1.1 only, HTTP/2 offered first over TLS (ALPN), or
 * HTTP/2 with prior knowledge in cleartext. `streams` is the number of
 * requests in flight per HTTP/2 connection.
 */
export function protocolOptions(protocol: 'http/1.1' | 'h2' | 'h2c', streams: number, pingIntervalMs = 0) {
  if (protocol === 'http/1.1') return { client: { allowH2: false }, connect: { allowH2: false } };
  const h2c = protocol === 'h2c';
  // undici PINGs every connection each minute by default, idle or quiet, which servers that limit PINGs (grpc-go:
  // one per 5 minutes) answer with GOAWAY too_many_pings, closing the calls in flight: the pool's interval instead.
  const h2Options = { useH2c: h2c, maxConcurrentStreams: streams, pingInterval: pingIntervalMs };
  return {
    client: { allowH2: true, pipelining: streams, h2Options },
    connect: { allowH2: true, preferH2: true, useH2c: h2c },
  };
}

const apiRequest: (
  this: Undici.Dispatcher,
  opts: Undici.Dispatcher.RequestOptions,
) => Promise<Undici.Dispatcher.ResponseData> = require('undici/lib/api/api-request.js');

/** `dispatcher.request(opts)`, which the index adds to every dispatcher's prototype. */
export function request(
  dispatcher: Undici.Dispatcher,
  opts: Undici.Dispatcher.RequestOptions,
): Promise<Undici.Dispatcher.ResponseData> {
  return apiRequest.call(dispatcher, opts);
}

const knownHeaderNames: Record<string, string> = require('undici/lib/core/constants.js').headerNameLowerCasedRecord;

/**
 * Adds lower-case header names to undici's table of known names. undici checks
 * the name of every header not in that table (a lower-casing and a token regex
 * per header, per request); names the gateway itself sets on every request are
 * constant, lower-case, valid tokens, so they join the table once. Their values
 * are still checked per request, like every header's.
 */
export function addKnownHeaderNames(names: readonly string[]): void {
  for (const name of names) knownHeaderNames[name] ??= name;
}

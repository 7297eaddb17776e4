/**
 * PROXY protocol (v1, v2) on an HTTP listener behind a load balancer that sends it (HAProxy `send-proxy`, AWS NLB,
 * a TLS passthrough balancer): each connection's header is read before anything else, only from a peer in
 * `trusted_proxies`, and the client address it names is the connection's client for every request on it (IP lists,
 * limits, X-Forwarded-For, access events), as nginx's `listen ... proxy_protocol` with `real_ip_header
 * proxy_protocol`. The header's parser is the TCP streams' too (net/proxy-protocol.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { CidrMatcher } from '../net/cidr.ts';
import { unmapIp } from '../net/ip.ts';
import { readPrefix } from '../net/prefix.ts';
import { parseWhole } from '../net/proxy-protocol.ts';
import type { Refusal } from './metrics.ts';

const CLIENT = Symbol('tollgate.proxiedClient');
/** A socket whose PROXY header named its client; a TLS socket's `_parent` is the connection it runs over. */
type Tagged = { [CLIENT]?: string; _parent?: Tagged; remoteAddress?: string };

/** The client's address on a connection: the one its PROXY header named, else its peer's. */
export function clientAddressOf(socket: object): string {
  const s = socket as Tagged;
  return s[CLIENT] ?? s.remoteAddress ?? '';
}

/** A TLS socket over a connection whose PROXY header was read takes its client address (read per request). */
export function carryClientAddress(tls: object): void {
  const s = tls as Tagged;
  const ip = s._parent?.[CLIENT];
  if (ip !== undefined) s[CLIENT] = ip;
}

const EMPTY = Buffer.alloc(0);

/**
 * The listener's front: a connection from a peer outside `trusted()` is closed (`untrusted_proxy`), one whose first
 * bytes are no PROXY header (`bad_proxy_header`) or that sends none within `timeoutMs` (`proxy_header_timeout`)
 * too; the rest go to `next` with the bytes after the header put back. A `LOCAL` or `UNKNOWN` header (the
 * balancer's own health check) leaves the peer as the client.
 */
export function createProxyProtocolFront(
  trusted: () => CidrMatcher,
  timeoutMs: () => number,
  refused: (reason: Refusal) => void,
  next: (socket: Socket) => void,
): Server {
  return createServer((socket) => {
    // Until `next` takes it, an error (a reset) only closes it.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const peer = unmapIp(socket.remoteAddress ?? '');
    // No address: the peer reset the connection before it was accepted.
    if (peer === '') return void socket.destroy();
    if (!trusted().contains(peer)) {
      refused('untrusted_proxy');
      return void socket.destroy();
    }
    readPrefix(socket, EMPTY, parseWhole, timeoutMs(), (end, bytes) => {
      if (end.kind !== 'parsed') {
        if (end.kind === 'timeout') refused('proxy_header_timeout');
        return void socket.destroy();
      }
      const header = end.value;
      if (header.kind !== 'header') {
        refused('bad_proxy_header');
        return void socket.destroy();
      }
      if (header.source !== undefined) (socket as Tagged)[CLIENT] = header.source.ip;
      socket.off('error', onError);
      if (bytes.length > header.bytes) socket.unshift(bytes.subarray(header.bytes));
      next(socket);
    });
  });
}

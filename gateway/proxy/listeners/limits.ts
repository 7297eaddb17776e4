import type { Socket } from 'node:net';
import type { ConnectionLimits } from '../net/connection-limits.ts';
import { clientKey } from '../net/ip.ts';
import type { Refusal } from './metrics.ts';
import { clientAddressOf } from './proxy-protocol.ts';
import type { ListenerConfig } from './schema.ts';

/** Whether a listener limits connections per client address or their rate: it then has an admission front. */
export const limitsConnections = (l: ListenerConfig): boolean =>
  (l.max_connections_per_ip ?? 0) > 0 || (l.connections_per_s ?? 0) > 0;

/**
 * Admits a connection under the listener's `max_connections_per_ip` and `connections_per_s` as its config reads
 * now, by its client address (the PROXY header's when there is one; an IPv6 one by its `ipv6_prefix`). A refused
 * connection is closed before a byte of it is read or a TLS handshake begun, and counted; an admitted one gives its
 * place back when it closes. `limits` is the listener's by name, so one that replaces it on a reload counts the
 * connections the old one still holds.
 */
export function connectionAdmission(
  config: () => ListenerConfig,
  refused: (reason: Refusal) => void,
  limits: ConnectionLimits,
): (socket: Socket) => boolean {
  return (socket) => {
    const c = config();
    const key = clientKey(clientAddressOf(socket), c.ipv6_prefix ?? 128);
    const refusal = limits.take(
      key,
      {
        max_connections: 0,
        max_connections_per_ip: c.max_connections_per_ip ?? 0,
        connections_per_s: c.connections_per_s ?? 0,
      },
      performance.now(),
    );
    if (refusal !== undefined) {
      refused(refusal as Refusal);
      socket.destroy();
      return false;
    }
    socket.once('close', () => limits.give(key));
    return true;
  };
}

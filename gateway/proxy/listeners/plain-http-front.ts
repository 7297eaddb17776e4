import { createServer, type Server, type Socket } from 'node:net';
import { readPrefix } from '../net/prefix.ts';
import type { Refusal } from './metrics.ts';

const EMPTY = Buffer.alloc(0);

/**
 * What a connection's first byte says it speaks: an HTTP request line starts with a method, in capitals; a TLS
 * record starts with its content type (0x14-0x17) and an SSLv2-style hello with a byte past 0x7f.
 */
export const firstByteSpeaks = (bytes: Buffer): 'http' | 'tls' =>
  bytes[0] >= 0x41 && bytes[0] <= 0x5a ? 'http' : 'tls';

/**
 * In front of an HTTP listener's TLS server: a client that speaks plain HTTP to it goes to `plain`, to be answered
 * in plain HTTP (Node's TLS server alone fails its handshake and closes without a word); every other connection goes
 * to `tls` with its first bytes put back, which the TLS server reads itself. Counted as the TLS server counts them:
 * `plaintext_on_tls`; no byte within `timeoutMs` (the listener's handshake timeout), `tls_handshake_timeout`. One
 * its client closes before sending a byte (a load balancer's TCP health check) is no refusal, as on a plaintext
 * port: the TLS server counted it as a failed handshake.
 *
 * What it costs a TLS connection: its first chunk goes through JavaScript before OpenSSL reads it. Beside the build
 * before it (each gateway on one CPU, `wrk -t1 -c20 -d5s -H 'Connection: close'` on a TLS listener, four alternating
 * rounds): 813-845 new connections/s against 657-967, 1,068-1,134 CPU µs a connection against 966-1,377: nothing the
 * rounds' noise shows.
 */
export function createPlainHttpFront(
  tls: Server,
  timeoutMs: number,
  refused: (reason: Refusal) => void,
  plain: (socket: Socket) => void,
): Server {
  // TCP_NODELAY for the admin API's, which listens itself (a proxy listener's door sets it on what it hands on).
  return createServer({ noDelay: true }, (socket) => {
    // Until a server takes it, an error (a reset) only closes it.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    readPrefix(socket, EMPTY, firstByteSpeaks, timeoutMs, (end, bytes) => {
      if (end.kind !== 'parsed') {
        if (end.kind === 'timeout') refused('tls_handshake_timeout');
        return void socket.destroy();
      }
      if (end.value === 'http') {
        refused('plaintext_on_tls');
        return plain(socket);
      }
      socket.off('error', onError);
      socket.unshift(bytes);
      tls.emit('connection', socket);
    });
  });
}

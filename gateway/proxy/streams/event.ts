import { encodeFields } from '../../../shared/access-event-codec.ts';
import { errors } from '../../errors.ts';
import type { StreamConnection } from './connection.ts';

// A fixed value read once: performance.timeOrigin is a getter that calls into native code.
const TIME_ORIGIN_MS = performance.timeOrigin;

/**
 * The access event of a TCP connection that ended: service the stream, route its SNI route, status 200 once
 * a target took it (upstream status 200) or the refusal's, bytes each way as the client sent and received them
 * (TLS terminated: the plaintext), upstream time from the connect to the end.
 */
export function streamRecord(c: StreamConnection, node: string): Buffer {
  const totalUs = Math.round((c.endMs - c.startMs) * 1000);
  const upstreamUs = c.connectStartMs > 0 ? Math.min(totalUs, Math.round((c.endMs - c.connectStartMs) * 1000)) : 0;
  return encodeFields(
    undefined,
    Math.round(TIME_ORIGIN_MS + c.startMs),
    node,
    '',
    c.stream.name,
    c.route,
    '',
    c.status,
    c.proxied ? 200 : 0,
    totalUs,
    upstreamUs,
    totalUs - upstreamUs,
    c.bytesIn,
    c.bytesOut,
    c.clientIp,
    c.target ? c.target.id : '',
    c.errorCode !== undefined ? errors[c.errorCode].errorClass : c.proxied ? 'none' : 'client_closed',
    '',
    'tcp',
    c.tlsVersion,
    -1,
    '',
    0,
    0,
  );
}

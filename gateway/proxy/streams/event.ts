import { encodeFields } from '../../../shared/access-event-codec.ts';
import { errors } from '../../errors.ts';
import { GATEWAY_ENDED } from '../events/access-event.ts';
import type { StreamConnection } from './connection.ts';
import { wallClock } from '../../../shared/wall-clock.ts';

/**
 * The access event of a TCP connection: service the stream, route its SNI route, status 200 once a target took it
 * (upstream status 200) or the refusal's, bytes each way as the client sent and received them (TLS terminated: the
 * plaintext) since its previous event, upstream time from the connect to the end. With `interimAtMs`
 * (performance.now()), an interim event of the connection still open, placed at that time; the bytes it reports
 * are then taken off what the next event carries. `traceId`: the connection's span's (tracing/spans.ts).
 */
export function streamRecord(c: StreamConnection, node: string, interimAtMs?: number, traceId = ''): Buffer {
  return encodeStream(c, node, interimAtMs, traceId, false);
}

/**
 * The final event of a connection still open at `atMs` (performance.now()), right after its interim event (or once
 * open KEEP_CUT_AFTER_MS, before the first), should the gateway end (killed, crashed) before the connection does: as
 * its own final event would be, ended then, closed for `gateway_ended`. Kept by events/unfinished.ts, and in the log
 * only after such an end.
 */
export function cutStreamRecord(c: StreamConnection, node: string, atMs: number): Buffer {
  return encodeStream(c, node, atMs, '', true);
}

function encodeStream(c: StreamConnection, node: string, atMs: number | undefined, traceId: string, cut: boolean) {
  const interim = atMs !== undefined && !cut;
  const endMs = atMs ?? c.endMs;
  const totalUs = Math.round((endMs - c.startMs) * 1000);
  const upstreamUs = interim
    ? 0
    : c.connectStartMs > 0
      ? Math.min(totalUs, Math.round((endMs - c.connectStartMs) * 1000))
      : 0;
  const bytesIn = c.bytesIn - c.reportedIn;
  const bytesOut = c.bytesOut - c.reportedOut;
  if (interim) {
    c.interims++;
    c.reportedIn = c.bytesIn;
    c.reportedOut = c.bytesOut;
  }
  return encodeFields(
    undefined,
    Math.round(wallClock.at(interim ? endMs : c.startMs)),
    node,
    '',
    c.stream.name,
    c.route,
    '',
    // Open, and cut: proxied, as the status it would have ended with says.
    cut ? 200 : c.status,
    c.proxied ? 200 : 0,
    totalUs,
    upstreamUs,
    totalUs - upstreamUs,
    bytesIn,
    bytesOut,
    c.clientIp,
    c.target ? c.target.id : '',
    c.errorCode !== undefined ? errors[c.errorCode].errorClass : c.proxied ? 'none' : 'client_closed',
    traceId,
    'tcp',
    c.tlsVersion,
    -1,
    '',
    0,
    0,
    0,
    cut ? GATEWAY_ENDED : interim ? '' : (c.reason ?? c.refusal ?? ''),
    interim,
  );
}

/**
 * Whether a connection that had interim events moved bytes since the last: they go in one more interim event placed
 * at its end (streamRecord with `interimAtMs` its `endMs`), so that they count in the hour they flowed, before the
 * final event, which then carries none.
 */
export const hasTail = (c: StreamConnection): boolean =>
  c.interims > 0 && (c.bytesIn > c.reportedIn || c.bytesOut > c.reportedOut);

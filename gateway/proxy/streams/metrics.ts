import { Counter, Gauge, type Registry } from 'prom-client';
import type { ErrorCode } from '../../errors.ts';

/** Why a proxied TCP connection ended; bounded. */
export const STREAM_CLOSE_REASONS = [
  'client', // the client closed its side, or its connection broke
  'upstream', // the target closed its side
  'upstream_error', // the target's connection broke
  'idle', // timeouts.idle_ms
  'lifetime', // timeouts.max_lifetime_ms
  'shutdown', // the gateway shut down
  'client_certificate', // the stream's client-certificate checks changed (a new CA or CRL): the client reconnects
] as const;
export type StreamCloseReason = (typeof STREAM_CLOSE_REASONS)[number];

/** Why a connection was closed before it reached a target; bounded. */
export const STREAM_REFUSALS = [
  'ip_denied', // acl
  'untrusted_proxy', // a PROXY header expected from a peer not in trusted_proxies
  'bad_proxy_header',
  'handshake_timeout', // no PROXY header or ClientHello within timeouts.handshake_ms
  'not_tls', // sni routes: the client's first bytes are no ClientHello
  'no_route', // sni routes: a name no route takes, and no default upstream
  'tls_handshake', // tls termination failed
  'max_connections',
  'max_connections_per_ip',
  'rate_limited', // limits.connections_per_s
  'circuit_open',
  'no_target', // every target is down
  'connect_failed',
  'connect_timeout',
  'client_closed', // the client left before its target was reached
  'shutdown', // the gateway shut down before its target was reached
  'client_certificate', // the stream's client-certificate checks changed before its target was reached
] as const;
export type StreamRefusal = (typeof STREAM_REFUSALS)[number];

/** The code whose status and error class a refused connection is counted with. */
export const REFUSAL_CODES: Record<StreamRefusal, ErrorCode | undefined> = {
  ip_denied: 'GW_ERR_IP_DENIED',
  untrusted_proxy: 'GW_ERR_FORBIDDEN',
  bad_proxy_header: 'GW_ERR_BAD_REQUEST',
  handshake_timeout: 'GW_ERR_REQUEST_TIMEOUT',
  not_tls: 'GW_ERR_BAD_REQUEST',
  no_route: 'GW_ERR_NO_ROUTE',
  tls_handshake: 'GW_ERR_BAD_REQUEST',
  max_connections: 'GW_ERR_RATE_LIMITED',
  max_connections_per_ip: 'GW_ERR_RATE_LIMITED',
  rate_limited: 'GW_ERR_RATE_LIMITED',
  circuit_open: 'GW_ERR_CIRCUIT_OPEN',
  no_target: 'GW_ERR_UPSTREAM_UNAVAILABLE',
  connect_failed: 'GW_ERR_UPSTREAM_REFUSED',
  connect_timeout: 'GW_ERR_UPSTREAM_TIMEOUT',
  client_closed: undefined, // 499, client_closed
  shutdown: 'GW_ERR_UPSTREAM_UNAVAILABLE',
  client_certificate: 'GW_ERR_CLIENT_CERT_REQUIRED',
};

/** One stream's series, resolved to their label children once (no label hashing per connection). */
export interface StreamSeries {
  open: { inc(): void; dec(): void };
  closed(reason: StreamCloseReason): { inc(): void };
}

export function createStreamMetrics(register: Registry) {
  const registers = [register];
  const series = new Map<string, StreamSeries>();
  // Bytes of connections that have ended, by stream; open ones are added when the counter is read (`live`).
  const ended = new Map<string, { in: number; out: number }>();
  let live: () => Iterable<{ stream: string; in: number; out: number }> = () => [];
  return {
    /** Adds an ended connection's bytes. */
    ended(stream: string, bytesIn: number, bytesOut: number): void {
      let t = ended.get(stream);
      if (t === undefined) ended.set(stream, (t = { in: 0, out: 0 }));
      t.in += bytesIn;
      t.out += bytesOut;
    },
    /** The series of `stream`, made on first use. */
    of(stream: string): StreamSeries {
      let s = series.get(stream);
      if (s === undefined) {
        const closed = new Map<StreamCloseReason, { inc(): void }>();
        const metrics = this;
        s = {
          open: metrics.open.labels({ stream }),
          closed(reason) {
            let c = closed.get(reason);
            if (c === undefined) closed.set(reason, (c = metrics.closed.labels({ stream, reason })));
            return c;
          },
        };
        series.set(stream, s);
      }
      return s;
    },
    /** Where the bytes of open connections so far are read from at scrape time. */
    setLive(source: typeof live): void {
      live = source;
    },
    open: new Gauge({
      name: 'tollgate_stream_connections',
      help: 'TCP connections proxied by streams now, by stream.',
      labelNames: ['stream'] as const,
      registers,
    }),
    bytes: new Counter({
      name: 'tollgate_stream_bytes_total',
      help: 'Bytes through TCP streams, by stream and direction (in: from clients), open connections included.',
      labelNames: ['stream', 'direction'] as const,
      registers,
      collect() {
        this.reset();
        for (const [stream, t] of ended) {
          this.inc({ stream, direction: 'in' }, t.in);
          this.inc({ stream, direction: 'out' }, t.out);
        }
        for (const c of live()) {
          this.inc({ stream: c.stream, direction: 'in' }, c.in);
          this.inc({ stream: c.stream, direction: 'out' }, c.out);
        }
      },
    }),
    closed: new Counter({
      name: 'tollgate_stream_closed_total',
      help: `Proxied TCP connections ended, by stream and reason (${STREAM_CLOSE_REASONS.join(', ')}).`,
      labelNames: ['stream', 'reason'] as const,
      registers,
    }),
    waiting: new Gauge({
      name: 'tollgate_stream_listen_waiting',
      help: 'Streams a reload added whose address another process holds: 1 while the stream tries again to listen.',
      labelNames: ['stream'] as const,
      registers,
    }),
    refused: new Counter({
      name: 'tollgate_stream_refused_total',
      help: `TCP connections closed before reaching a target, by stream and reason (${STREAM_REFUSALS.join(', ')}).`,
      labelNames: ['stream', 'reason'] as const,
      registers,
    }),
  };
}

export type StreamMetrics = ReturnType<typeof createStreamMetrics>;

import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../log.ts';
import { staplingHooks } from './ocsp-stapling.ts';
import type { TlsHooks } from './tls.ts';

/**
 * Why a connection ended before it became a request, or was cut for abuse (an HTTP/2 flood, too deep a pipeline).
 * Bounded: the refusal kinds the listeners tell apart, plus `tls_handshake` for any other handshake failure.
 */
export const REFUSALS = [
  'plaintext_on_tls',
  'tls_on_plaintext',
  'unknown_server_name',
  'no_client_certificate',
  'bad_client_certificate',
  'tls_version',
  'no_common_protocol',
  'tls_handshake_timeout',
  'tls_handshake',
  'bad_h2_preface',
  'h2_protocol_error',
  'pipeline_overflow',
  'untrusted_proxy',
  'bad_proxy_header',
  'proxy_header_timeout',
  'max_connections_per_ip',
  'rate_limited',
] as const;
export type Refusal = (typeof REFUSALS)[number];

export function createListenerMetrics(register: Registry) {
  const registers = [register];
  return {
    refused: new Counter({
      name: 'tollgate_connections_refused_total',
      help:
        'Client connections closed before any request, by listener and reason (plaintext_on_tls, tls_on_plaintext, ' +
        'unknown_server_name, no_client_certificate, bad_client_certificate, tls_version, no_common_protocol, ' +
        'tls_handshake_timeout, tls_handshake, bad_h2_preface, h2_protocol_error, pipeline_overflow, ' +
        'untrusted_proxy, bad_proxy_header, proxy_header_timeout, max_connections_per_ip, rate_limited); ' +
        'h2_protocol_error and pipeline_overflow may ' +
        'come after requests, for abuse; plaintext_on_tls is answered with a 400 first.',
      labelNames: ['listener', 'reason'] as const,
      registers,
    }),
    listenWaiting: new Gauge({
      name: 'tollgate_listener_listen_waiting',
      help: 'Listeners a reload added or moved whose address another process holds: 1 while one tries again to listen.',
      labelNames: ['listener'] as const,
      registers,
    }),
    handshakes: new Counter({
      name: 'tollgate_tls_handshakes_total',
      help: 'TLS handshakes completed, by listener, TLS version and the protocol ALPN chose.',
      labelNames: ['listener', 'version', 'protocol'] as const,
      registers,
    }),
    resumed: new Counter({
      name: 'tollgate_tls_resumed_handshakes_total',
      help:
        'TLS handshakes that resumed a session by its ticket (of tollgate_tls_handshakes_total), by listener: a low ' +
        'share behind a load balancer means the instances do not share tls.session_ticket_key.',
      labelNames: ['listener'] as const,
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'tollgate_tls_certificate_expiry_timestamp_seconds',
      help: "When a listener's certificate expires (its notAfter, Unix seconds), by listener, cert file and subject.",
      labelNames: ['listener', 'certificate', 'subject'] as const,
      registers,
      aggregator: 'min',
    }),
    cancelledUnbegun: new Counter({
      name: 'tollgate_http2_streams_cancelled_unbegun_total',
      help:
        'HTTP/2 requests their client cancelled (RST_STREAM, or its connection gone) in the read that brought them, ' +
        'before the gateway began them: neither handled nor counted as requests. A rapid-reset flood shows here.',
      labelNames: ['listener'] as const,
      registers,
    }),
    ocspFetches: new Counter({
      name: 'tollgate_tls_ocsp_fetches_total',
      help:
        'OCSP responses fetched for stapling, by listener and result: good, revoked, unknown (the responder does not ' +
        'know the certificate), bad_response (unsigned, expired, not about it), unreachable (includes HTTP errors).',
      labelNames: ['listener', 'result'] as const,
      registers,
    }),
    ocspStapleExpiry: new Gauge({
      name: 'tollgate_tls_ocsp_staple_expiry_timestamp_seconds',
      help:
        'When the OCSP response a listener staples for a certificate expires (its nextUpdate, Unix seconds; +Inf ' +
        'without one), by listener and cert file; 0 while none is stapled.',
      labelNames: ['listener', 'certificate'] as const,
      registers,
      aggregator: 'min',
    }),
  };
}

export type ListenerMetrics = ReturnType<typeof createListenerMetrics>;

/**
 * The TlsListener hooks a proxy listener and a TLS stream share, under its name: handshakes (and resumptions)
 * counted, the expiry of the certificates it serves in the gauge (its own series only, removed when it closes),
 * and OCSP stapling's fetches counted and logged.
 */
export function listenerTlsHooks(
  metrics: ListenerMetrics,
  log: Logger,
  listener: string,
): Pick<TlsHooks, 'handshake' | 'served' | 'ocsp'> {
  let series: { listener: string; certificate: string; subject: string }[] = [];
  return {
    handshake(version, protocol, resumed) {
      metrics.handshakes.inc({ listener, version, protocol });
      if (resumed) metrics.resumed.inc({ listener });
    },
    served(certificates) {
      for (const old of series) metrics.certificateExpiry.remove(old);
      series = certificates.map((c) => ({ listener, certificate: c.file, subject: c.subject }));
      certificates.forEach((c, i) => metrics.certificateExpiry.set(series[i]!, Math.floor(c.notAfterMs / 1000)));
    },
    ocsp: staplingHooks(metrics, log, listener),
  };
}

import { Counter, Gauge, type Registry } from 'prom-client';

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
        'come after requests, for abuse.',
      labelNames: ['listener', 'reason'] as const,
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

/** The certificates of one owner's TLS listeners (proxy listeners, or streams), as the expiry gauge holds them. */
export type CertificateSeries = { listener: string; certificate: string; subject: string }[];

/**
 * Sets the expiry gauge to `served` (each listener's certificates) and removes the series of `before` it no longer
 * holds: the proxy listeners and the streams each keep their own, so neither resets the other's.
 */
export function recordCertificateExpiry(
  metrics: ListenerMetrics,
  served: { listener: string; certificates: readonly { file: string; subject: string; notAfterMs: number }[] }[],
  before: CertificateSeries,
): CertificateSeries {
  const now: CertificateSeries = [];
  for (const { listener, certificates } of served)
    for (const c of certificates) {
      const labels = { listener, certificate: c.file, subject: c.subject };
      metrics.certificateExpiry.set(labels, Math.floor(c.notAfterMs / 1000));
      now.push(labels);
    }
  const key = (l: CertificateSeries[number]) => `${l.listener}\n${l.certificate}\n${l.subject}`;
  const kept = new Set(now.map(key));
  for (const old of before) if (!kept.has(key(old))) metrics.certificateExpiry.remove(old);
  return now;
}

/** A listener's or stream's completed handshake, counted. */
export function countHandshake(
  metrics: ListenerMetrics,
  listener: string,
  version: string,
  protocol: string,
  resumed: boolean,
): void {
  metrics.handshakes.inc({ listener, version, protocol });
  if (resumed) metrics.resumed.inc({ listener });
}

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
        'untrusted_proxy, bad_proxy_header, proxy_header_timeout); h2_protocol_error and pipeline_overflow may ' +
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

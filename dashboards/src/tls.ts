import { timeSeries } from './common.ts';
import { prometheusDatasource as ds, promTargets } from './prometheus.ts';

/**
 * The TLS row of the gateway overview, by listener (a TLS stream is a listener here): handshakes and how many resumed,
 * connections refused before a request, and the time left on certificates and on OCSP staples.
 */
export function tlsPanels() {
  return [
    timeSeries({
      title: 'TLS handshakes',
      description:
        'Completed TLS handshakes per second by listener and TLS version (tollgate_tls_handshakes_total); a TLS ' +
        "stream counts under the stream's name.",
      datasource: ds,
      targets: promTargets({
        expr: 'sum by (listener, version) (rate(tollgate_tls_handshakes_total[$__rate_interval]))',
        legend: '{{listener}} {{version}}',
      }),
      unit: 'short',
      width: 6,
    }),
    timeSeries({
      title: 'Resumed handshakes',
      description:
        'Share of handshakes that resumed a session by its ticket, by listener. Low behind a load balancer that ' +
        'spreads returning clients: the instances do not share tls.session_ticket_key.',
      datasource: ds,
      targets: promTargets({
        expr:
          'sum by (listener) (rate(tollgate_tls_resumed_handshakes_total[$__rate_interval])) / ' +
          'sum by (listener) (rate(tollgate_tls_handshakes_total[$__rate_interval]))',
        legend: '{{listener}}',
      }),
      unit: 'percentunit',
      width: 6,
      min: 0,
      max: 1,
    }),
    timeSeries({
      title: 'Connections refused',
      description:
        'Client connections closed before any request, per second by listener and reason: plaintext on a TLS ' +
        'port, unknown server name, missing or bad client certificate, handshake timeout, bad PROXY header, ' +
        'HTTP/2 floods (tollgate_connections_refused_total).',
      datasource: ds,
      targets: promTargets({
        expr: 'sum by (listener, reason) (rate(tollgate_connections_refused_total[$__rate_interval]))',
        legend: '{{listener}} {{reason}}',
      }),
      unit: 'short',
      width: 6,
    }),
    timeSeries({
      title: 'Certificate and OCSP staple time left',
      description:
        "Time until each listener's certificate expires (alert TollgateCertificateExpiresSoon at 14 days), and " +
        'until the OCSP response stapled for it does (alert TollgateOcspStapleExpiring at an hour; below zero: ' +
        'none is stapled).',
      datasource: ds,
      targets: promTargets(
        {
          expr: 'min by (listener, certificate) (tollgate_tls_certificate_expiry_timestamp_seconds) - time()',
          legend: 'cert {{listener}} {{certificate}}',
        },
        {
          expr: 'min by (listener, certificate) (tollgate_tls_ocsp_staple_expiry_timestamp_seconds) - time()',
          legend: 'ocsp {{listener}} {{certificate}}',
        },
      ),
      unit: 's',
      width: 6,
    }),
  ];
}

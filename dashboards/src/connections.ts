import { timeSeries } from './common.ts';
import { prometheusDatasource as ds, promTargets } from './prometheus.ts';

/**
 * The Connections row of the gateway overview: long-lived WebSocket connections by service (filtered by `service`,
 * the dashboard's service selector) and TCP streams by stream.
 */
export function connectionPanels(SERVICE: string) {
  return [
    timeSeries({
      title: 'Open connections',
      description:
        'WebSocket connections by service (tollgate_websocket_connections) and TCP connections by stream ' +
        '(tollgate_stream_connections) open through the gateway now.',
      datasource: ds,
      targets: promTargets(
        { expr: `sum by (service) (tollgate_websocket_connections${SERVICE})`, legend: 'ws {{service}}' },
        { expr: 'sum by (stream) (tollgate_stream_connections)', legend: 'tcp {{stream}}' },
      ),
      unit: 'short',
      width: 8,
    }),
    timeSeries({
      title: 'Connection traffic',
      description:
        'Bytes per second through WebSocket connections by service and TCP streams by stream, in (from ' +
        'clients) and out, open connections included.',
      datasource: ds,
      targets: promTargets(
        {
          expr: `sum by (service, direction) (rate(tollgate_websocket_bytes_total${SERVICE}[$__rate_interval]))`,
          legend: 'ws {{service}} {{direction}}',
        },
        {
          expr: 'sum by (stream, direction) (rate(tollgate_stream_bytes_total[$__rate_interval]))',
          legend: 'tcp {{stream}} {{direction}}',
        },
      ),
      unit: 'Bps',
      width: 8,
    }),
    timeSeries({
      title: 'WebSocket messages',
      description: 'WebSocket data messages per second by service, in (from clients) and out.',
      datasource: ds,
      targets: promTargets({
        expr: `sum by (service, direction) (rate(tollgate_websocket_messages_total${SERVICE}[$__rate_interval]))`,
        legend: '{{service}} {{direction}}',
      }),
      unit: 'short',
      width: 8,
    }),
    timeSeries({
      title: 'Connections ended by reason',
      description:
        'WebSocket and TCP connections ended per second by why (client, upstream, idle, shutdown, …), and TCP ' +
        'connections refused before reaching a target (ip_denied, max_connections, connect_failed, …).',
      datasource: ds,
      targets: promTargets(
        {
          expr: `sum by (reason) (rate(tollgate_websocket_closed_total${SERVICE}[$__rate_interval]))`,
          legend: 'ws {{reason}}',
        },
        { expr: 'sum by (reason) (rate(tollgate_stream_closed_total[$__rate_interval]))', legend: 'tcp {{reason}}' },
        {
          expr: 'sum by (reason) (rate(tollgate_stream_refused_total[$__rate_interval]))',
          legend: 'tcp refused {{reason}}',
        },
      ),
      unit: 'short',
      width: 24,
    }),
  ];
}

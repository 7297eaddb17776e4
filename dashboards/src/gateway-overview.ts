import {
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { newDashboard, stat, timeSeries, upDownTimeline } from './common.ts';
import type { Dashboard } from './common.ts';
import { PROMETHEUS_PLUGIN_ID, histogramQuantile, prometheusDatasource as ds, promTargets } from './prometheus.ts';
import { connectionPanels } from './connections.ts';
import { tlsPanels } from './tls.ts';

export const GATEWAY_OVERVIEW_UID = 'tollgate-gateway-overview';

// `=~` so the "All" value (.*) and multi-selection both work.
const SERVICE = '{service=~"$service"}';
const SERVICE_5XX = '{service=~"$service", status_class="5xx"}';
const GRPC_NOT_OK = '{service=~"$service", grpc_status!="OK"}';
/**
 * For the upstream pool metrics (ejections, target health), whose service
 * label is the pool's: `svc/group` for a canary group's pool. The variable
 * lists services (from tollgate_requests_total), so selecting `svc` takes its
 * canary groups too; `$service` comes regex-escaped, or as `(a|b)` or `.*`, and
 * service names hold no `/`, so `api` takes `api/canary` but not `apiary`.
 */
const POOL_SERVICE = '{service=~"($service)(/.*)?"}';

function requestRate(selector: string): string {
  return `sum by (service) (rate(tollgate_requests_total${selector}[$__rate_interval]))`;
}

export function gatewayOverview(): Dashboard {
  const connections = connectionPanels(SERVICE);
  const tls = tlsPanels();
  const latency = (q: number) =>
    timeSeries({
      title: `p${Math.round(q * 100)} latency by service`,
      description:
        `${Math.round(q * 100)}th percentile of time from request ` +
        `received to response finished (tollgate_request_duration_seconds). The dots are exemplars: traced ` +
        `requests, each opening its trace.`,
      datasource: ds,
      targets: promTargets({
        expr: histogramQuantile(q, 'tollgate_request_duration_seconds_bucket', SERVICE, 'service'),
        legend: '{{service}}',
        exemplar: true,
      }),
      unit: 's',
      width: 8,
    });

  return newDashboard({
    uid: GATEWAY_OVERVIEW_UID,
    title: 'Tollgate / Gateway overview',
    description:
      'Traffic, errors, latency and upstream health of the Tollgate gateways, from Prometheus (job tollgate-gateway).',
    pluginId: PROMETHEUS_PLUGIN_ID,
    datasourceLabel: 'Prometheus',
    timeFrom: 'now-1h',
    refresh: '30s',
    timezone: 'browser',
  })
    .withVariable(
      new QueryVariableBuilder('service')
        .label('Service')
        .datasource(ds)
        .query('label_values(tollgate_requests_total, service)')
        .definition('label_values(tollgate_requests_total, service)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )

    .withRow(new RowBuilder('Traffic'))
    .withPanel(
      timeSeries({
        title: 'Request rate by service',
        description: 'Requests answered per second, including the ones the gateway rejected itself.',
        datasource: ds,
        targets: promTargets({ expr: requestRate(SERVICE), legend: '{{service}}' }),
        unit: 'reqps',
        width: 12,
      }),
    )
    .withPanel(
      timeSeries({
        title: '5xx ratio by service',
        description: 'Share of requests answered with a 5xx status, from the gateway or the upstream.',
        datasource: ds,
        targets: promTargets({
          expr: `${requestRate(SERVICE_5XX)}\n/\n${requestRate(SERVICE)}`,
          legend: '{{service}}',
        }),
        unit: 'percentunit',
        width: 12,
        min: 0,
      }),
    )

    .withRow(new RowBuilder('gRPC'))
    .withPanel(
      timeSeries({
        title: 'gRPC calls by status',
        description:
          'gRPC calls per second by the grpc-status the client got (tollgate_grpc_calls_total): the ' +
          "upstream's, or the one the gateway answered with (UNAVAILABLE, RESOURCE_EXHAUSTED, …).",
        datasource: ds,
        targets: promTargets({
          expr: `sum by (grpc_status) (rate(tollgate_grpc_calls_total${SERVICE}[$__rate_interval]))`,
          legend: '{{grpc_status}}',
        }),
        unit: 'reqps',
        width: 12,
        stacked: true,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'gRPC error ratio by service',
        description: 'Share of gRPC calls that did not end OK, by service.',
        datasource: ds,
        targets: promTargets({
          expr:
            `sum by (service) (rate(tollgate_grpc_calls_total${GRPC_NOT_OK}[$__rate_interval]))\n/\n` +
            `sum by (service) (rate(tollgate_grpc_calls_total${SERVICE}[$__rate_interval]))`,
          legend: '{{service}}',
        }),
        unit: 'percentunit',
        width: 12,
        min: 0,
      }),
    )

    .withRow(new RowBuilder('Connections'))
    .withPanel(connections[0]!)
    .withPanel(connections[1]!)
    .withPanel(connections[2]!)
    .withPanel(connections[3]!)

    .withRow(new RowBuilder('TLS'))
    .withPanel(tls[0]!)
    .withPanel(tls[1]!)
    .withPanel(tls[2]!)
    .withPanel(tls[3]!)

    .withRow(new RowBuilder('Latency'))
    .withPanel(latency(0.5))
    .withPanel(latency(0.95))
    .withPanel(latency(0.99))

    .withRow(new RowBuilder('Errors and upstreams'))
    .withPanel(
      timeSeries({
        title: 'Gateway errors by code',
        description:
          'Replies the gateway wrote itself (no route, ' +
          'unauthorized, rate limited, upstream timeout, …), by error code.',
        datasource: ds,
        targets: promTargets({
          expr: 'sum by (code) (rate(tollgate_gateway_errors_total[$__rate_interval]))',
          legend: '{{code}}',
        }),
        unit: 'reqps',
        width: 12,
        stacked: true,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Aborted responses by reason',
        description:
          'Responses that did not reach the client whole (tollgate_responses_aborted_total): cut by the gateway ' +
          'after their status line went out (upstream_timeout, bad_gateway, response_too_large, internal), or ' +
          'left by a client halfway through sending its request (client_closed). They are counted in the ' +
          'request rate under the status sent, mostly 2xx; the ' +
          'TollgateResponsesCut alert watches the ones that are not client_closed.',
        datasource: ds,
        targets: promTargets({
          expr: `sum by (reason) (rate(tollgate_responses_aborted_total${SERVICE}[$__rate_interval]))`,
          legend: '{{reason}}',
        }),
        unit: 'reqps',
        width: 12,
        stacked: true,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Passive ejections and ejections over the cap',
        description:
          'Targets ejected by passive health checking, and failures that would have ejected one more had ' +
          'health.passive.max_ejected_percent allowed it (the target keeps serving; TollgateEjectionCapReached ' +
          "fires when that lasts), per service; a canary group's pool " +
          'shows as service/group, and selecting a service shows its groups too.',
        datasource: ds,
        targets: promTargets(
          {
            expr: `sum by (service) (rate(tollgate_upstream_ejections_total${POOL_SERVICE}[$__rate_interval]))`,
            legend: '{{service}} ejected',
          },
          {
            expr:
              `sum by (service) ` +
              `(rate(tollgate_upstream_ejections_overflow_total${POOL_SERVICE}[$__rate_interval]))`,
            legend: '{{service}} over the cap',
          },
        ),
        unit: 'ops',
        width: 12,
      }),
    )
    .withPanel(
      upDownTimeline({
        title: 'Upstream target health',
        description:
          'Active health check result per target; a target ejected by passive checks also shows as down. ' +
          "A canary group's targets show under service/group, and selecting a service shows its groups too.",
        datasource: ds,
        targets: promTargets({
          expr: `min by (service, target) (tollgate_upstream_target_healthy${POOL_SERVICE})`,
          legend: '{{service}} {{target}}',
        }),
        width: 12,
        upText: 'healthy',
        downText: 'down',
      }),
    )

    .withRow(new RowBuilder('Processes and config'))
    .withPanel(
      timeSeries({
        title: 'In-flight requests',
        description: 'Requests being served now, per gateway process.',
        datasource: ds,
        targets: promTargets({ expr: 'sum by (instance) (tollgate_inflight_requests)', legend: '{{instance}}' }),
        unit: 'short',
        width: 10,
      }),
    )
    .withPanel(
      stat({
        title: 'Config version',
        description:
          'Config version each gateway serves; more than one value means a reload has not reached every node.',
        datasource: ds,
        targets: promTargets({ expr: 'max by (instance) (tollgate_config_version)', legend: '{{instance}}' }),
        unit: 'none',
        width: 4,
        height: 8,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Config reloads',
        description:
          'Config applies by result; `invalid` means the new config was rejected and the old one keeps serving.',
        datasource: ds,
        targets: promTargets({
          expr: 'sum by (result) (increase(tollgate_config_reloads_total[$__rate_interval]))',
          legend: '{{result}}',
        }),
        unit: 'short',
        width: 10,
        bars: true,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Proxy worker restarts',
        description:
          'Proxy workers (workers > 1) started again, by reason: exited (the worker died) or unresponsive (the ' +
          'watchdog killed it after worker_watchdog_ms without a word). The ' +
          'requests each one held were lost; TollgateWorkerRestarted fires on any.',
        datasource: ds,
        targets: promTargets({
          expr: 'sum by (instance, reason) (increase(tollgate_worker_restarts_total[$__rate_interval]))',
          legend: '{{instance}} {{reason}}',
        }),
        unit: 'short',
        width: 24,
        height: 6,
        bars: true,
      }),
    )
    .withPanel(
      upDownTimeline({
        title: 'Config and app stores (Redis)',
        description:
          "Whether each gateway's shared config store and app store answer (a Redis store only; empty with the " +
          'file store). While one is down the gateway proxies on, admin edits get 503 and a ' +
          'gateway that starts cannot load its config; TollgateStoreDown fires after 2 minutes.',
        datasource: ds,
        targets: promTargets({
          expr: 'min by (instance, store) (tollgate_store_up)',
          legend: '{{instance}} {{store}}',
        }),
        width: 24,
        height: 6,
        upText: 'answers',
        downText: 'down',
      }),
    )
    .build();
}

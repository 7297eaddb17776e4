import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { newDashboard, timeSeries, upDownTimeline } from './common.ts';
import type { Dashboard } from './common.ts';
import { PROMETHEUS_PLUGIN_ID, histogramQuantile, prometheusDatasource as ds, promTargets } from './prometheus.ts';

export const PIPELINE_HEALTH_UID = 'tollgate-pipeline-health';

const rate = (metric: string, by: string) => `sum by (${by}) (rate(${metric}[$__rate_interval]))`;

export function pipelineHealth(): Dashboard {
  return newDashboard({
    uid: PIPELINE_HEALTH_UID,
    title: 'Tollgate / Analytics pipeline health',
    description:
      "Access events from the gateways' event sink through the collector into " +
      'ClickHouse and Redis, from Prometheus (jobs tollgate-gateway, tollgate-collector).',
    pluginId: PROMETHEUS_PLUGIN_ID,
    datasourceLabel: 'Prometheus',
    timeFrom: 'now-1h',
    refresh: '30s',
    timezone: 'browser',
  })
    .withRow(new RowBuilder('Gateway event sink'))
    .withPanel(
      timeSeries({
        title: 'Events emitted and dropped',
        description:
          'Access events handed to the sink, and events dropped ' +
          '(spool full, …) by reason. Any drop means reports undercount.',
        datasource: ds,
        targets: promTargets(
          { expr: 'sum(rate(tollgate_events_emitted_total[$__rate_interval]))', legend: 'emitted' },
          { expr: rate('tollgate_events_dropped_total', 'reason'), legend: 'dropped {{reason}}' },
        ),
        unit: 'ops',
        width: 12,
      }),
    )
    .withPanel(
      upDownTimeline({
        title: 'Event sink up',
        description: 'Whether each gateway reaches Kafka; while down, events go to the disk spool.',
        datasource: ds,
        targets: promTargets({ expr: 'min by (instance) (tollgate_event_sink_up)', legend: '{{instance}}' }),
        width: 12,
        upText: 'up',
        downText: 'down',
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Spool size',
        description: "Bytes waiting in each gateway's disk spool; it should drain to zero once Kafka is back.",
        datasource: ds,
        targets: promTargets({ expr: 'sum by (instance) (tollgate_event_spool_bytes)', legend: '{{instance}}' }),
        unit: 'bytes',
        width: 12,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Spooled events',
        description: "Events waiting in each gateway's disk spool.",
        datasource: ds,
        targets: promTargets({ expr: 'sum by (instance) (tollgate_event_spool_events)', legend: '{{instance}}' }),
        unit: 'short',
        width: 12,
      }),
    )

    .withRow(new RowBuilder('Collector'))
    .withPanel(
      timeSeries({
        title: 'Collector events by result',
        description: 'Events consumed: counted, duplicate (already counted, skipped) or dead_letter (malformed).',
        datasource: ds,
        targets: promTargets({ expr: rate('tollgate_collector_events_total', 'result'), legend: '{{result}}' }),
        unit: 'ops',
        width: 12,
        stacked: true,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Consumer lag',
        description: 'Messages not yet consumed, summed over the partitions of each topic.',
        datasource: ds,
        targets: promTargets({ expr: 'sum by (topic) (tollgate_collector_consumer_lag)', legend: '{{topic}}' }),
        unit: 'short',
        width: 12,
      }),
    )
    .withPanel(
      timeSeries({
        title: 'Batch duration',
        description: 'Time to aggregate and write one batch (tollgate_collector_batch_seconds).',
        datasource: ds,
        targets: promTargets(
          { expr: histogramQuantile(0.5, 'tollgate_collector_batch_seconds_bucket', '', 'job'), legend: 'p50' },
          { expr: histogramQuantile(0.99, 'tollgate_collector_batch_seconds_bucket', '', 'job'), legend: 'p99' },
          {
            expr:
              'sum(rate(tollgate_collector_batch_seconds_sum[$__rate_interval]))\n/\n' +
              'sum(rate(tollgate_collector_batch_seconds_count[$__rate_interval]))',
            legend: 'mean',
          },
        ),
        unit: 's',
        width: 24,
      }),
    )

    .withRow(new RowBuilder('Stores'))
    .withPanel(
      timeSeries({
        title: 'ClickHouse inserts and failures',
        description:
          'Insert statements per table; a failed insert is ' +
          'retried, so failures delay data but must not double count it.',
        datasource: ds,
        targets: promTargets(
          { expr: rate('tollgate_collector_clickhouse_inserts_total', 'table'), legend: 'inserts {{table}}' },
          { expr: rate('tollgate_collector_clickhouse_insert_failures_total', 'table'), legend: 'failures {{table}}' },
        ),
        unit: 'ops',
        width: 12,
      }),
    )
    .withPanel(
      upDownTimeline({
        title: 'Redis up',
        description:
          'Whether each collector reaches Redis for live ' +
          'counters; reports keep coming from ClickHouse while it is down.',
        datasource: ds,
        targets: promTargets({ expr: 'min by (instance) (tollgate_collector_redis_up)', legend: '{{instance}}' }),
        width: 12,
        upText: 'up',
        downText: 'down',
      }),
    )
    .withPanel(
      upDownTimeline({
        title: 'Scrape targets up',
        description: 'Whether Prometheus reaches each gateway and collector /metrics endpoint.',
        datasource: ds,
        targets: promTargets({
          expr: 'up{job=~"tollgate-gateway|tollgate-collector"}',
          legend: '{{job}} {{instance}}',
        }),
        width: 24,
        height: 6,
        upText: 'up',
        downText: 'down',
      }),
    )
    .build();
}

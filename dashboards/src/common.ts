import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import {
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
  StackingConfigBuilder,
  ReduceDataOptionsBuilder,
  BigValueGraphMode,
  VisibilityMode,
} from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeSeriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';

export type { Dashboard };
export type Query = Builder<Dataquery>;

/** Every dashboard picks its datasource through this variable, so a provisioned uid is never baked in. */
export const DATASOURCE_VARIABLE = 'datasource';

export function datasourceRef(pluginId: string): DataSourceRef {
  return { type: pluginId, uid: `\${${DATASOURCE_VARIABLE}}` };
}

export interface DashboardOptions {
  uid: string;
  title: string;
  description: string;
  pluginId: string;
  datasourceLabel: string;
  timeFrom: string;
  refresh: string;
  timezone: 'browser' | 'utc';
}

export function newDashboard(o: DashboardOptions): DashboardBuilder {
  return new DashboardBuilder(o.title)
    .uid(o.uid)
    .description(o.description)
    .tags(['tollgate'])
    .time({ from: o.timeFrom, to: 'now' })
    .refresh(o.refresh)
    .timezone(o.timezone)
    .tooltip(DashboardCursorSync.Crosshair)
    .annotation(
      new AnnotationQueryBuilder()
        .name('Annotations & Alerts')
        .builtIn(1)
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .type('dashboard'),
    )
    .withVariable(new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label(o.datasourceLabel).type(o.pluginId));
}

/** Targets get refIds A, B, … in the order given so generated JSON never depends on Grafana filling them in. */
export function withRefIds<T extends { refId(id: string): unknown }>(targets: T[]): T[] {
  targets.forEach((t, i) => t.refId(String.fromCharCode(65 + i)));
  return targets;
}

export interface PanelOptions {
  title: string;
  description: string;
  datasource: DataSourceRef;
  targets: Query[];
  unit: string;
  width: number;
  height?: number;
}

export interface TimeSeriesOptions extends PanelOptions {
  stacked?: boolean;
  bars?: boolean;
  min?: number;
  max?: number;
}

export function timeSeries(o: TimeSeriesOptions): TimeSeriesPanel {
  const panel = new TimeSeriesPanel()
    .title(o.title)
    .description(o.description)
    .datasource(o.datasource)
    .targets(o.targets)
    .unit(o.unit)
    .span(o.width)
    .height(o.height ?? 8)
    .fillOpacity(o.stacked || o.bars ? 60 : 10)
    .lineWidth(1)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .calcs(['mean', 'max', 'lastNotNull']),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
  if (o.stacked) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  if (o.bars) panel.drawStyle(GraphDrawStyle.Bars);
  if (o.min !== undefined) panel.min(o.min);
  if (o.max !== undefined) panel.max(o.max);
  return panel;
}

export function stat(o: PanelOptions): StatPanel {
  return new StatPanel()
    .title(o.title)
    .description(o.description)
    .datasource(o.datasource)
    .targets(o.targets)
    .unit(o.unit)
    .span(o.width)
    .height(o.height ?? 4)
    .graphMode(BigValueGraphMode.None)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
}

/** For 1/0 gauges (target healthy, sink up, Redis up): a row per series, green while 1, red while 0. */
export function upDownTimeline(
  o: Omit<PanelOptions, 'unit'> & { upText: string; downText: string },
): StateTimelinePanel {
  return new StateTimelinePanel()
    .title(o.title)
    .description(o.description)
    .datasource(o.datasource)
    .targets(o.targets)
    .span(o.width)
    .height(o.height ?? 8)
    .showValue(VisibilityMode.Never)
    .mappings([
      {
        type: MappingType.ValueToText,
        options: {
          0: { text: o.downText, color: 'red', index: 0 },
          1: { text: o.upText, color: 'green', index: 1 },
        },
      },
    ])
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: 'red' },
        { value: 1, color: 'green' },
      ]),
    );
}

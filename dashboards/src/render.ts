import type { Dashboard } from './common.ts';
import { gatewayOverview } from './gateway-overview.ts';
import { pipelineHealth } from './pipeline-health.ts';
import { tenantTraffic } from './tenant-traffic.ts';

/** Every generated dashboard, in a fixed order. */
export function buildDashboards(): Dashboard[] {
  return [gatewayOverview(), tenantTraffic(), pipelineHealth()];
}

/**
 * Stable JSON for a dashboard: panel ids numbered in layout order (the SDK leaves
 * them unset and Grafana would pick its own), object keys sorted at every level
 * so a change in the SDK's field order never shows up as a diff, two-space
 * indent, trailing newline.
 */
export function renderDashboard(dashboard: Dashboard): string {
  const copy = JSON.parse(JSON.stringify(dashboard)) as Dashboard;
  let nextId = 1;
  for (const panel of copy.panels ?? []) {
    panel.id = nextId++;
    for (const nested of (panel as { panels?: { id?: number }[] }).panels ?? []) nested.id = nextId++;
  }
  return `${JSON.stringify(sortKeys(copy), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** File name (under dashboards/json/) → content, for every dashboard. */
export function renderAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dashboard of buildDashboards()) {
    const uid = dashboard.uid;
    if (!uid) throw new Error(`dashboard "${dashboard.title}" has no uid`);
    if (files.has(`${uid}.json`)) throw new Error(`two dashboards share the uid ${uid}`);
    files.set(`${uid}.json`, renderDashboard(dashboard));
  }
  return files;
}

import { eventually } from './gateway.ts';

/**
 * The value of one sample in a gateway's admin /metrics, 0 when absent.
 * `labels` as rendered, in exposition order, e.g. `service="api",code="GW_ERR_IP_DENIED"`.
 */
export async function metric(gw: { adminUrl: string }, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const series = labels ? `${name}{${labels}}` : name;
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/**
 * `metric` once it has reached `n`, or after `timeoutMs`: for a count the gateway makes as a reply ends, which may be
 * just after the client has that reply. Its value then, for the assertion that follows.
 */
export async function metricReaching(
  gw: { adminUrl: string },
  name: string,
  labels: string,
  n: number,
  timeoutMs = 2000,
): Promise<number> {
  await eventually(async () => (await metric(gw, name, labels)) >= n, timeoutMs);
  return metric(gw, name, labels);
}

/** tollgate_connections_refused_total for one listener and reason (gateway/proxy/listeners/metrics.ts). */
export const refusals = (gw: { adminUrl: string }, listener: string, reason: string): Promise<number> =>
  metric(gw, 'tollgate_connections_refused_total', `listener="${listener}",reason="${reason}"`);

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteStatsRegistry } from '../route-stats.ts';
import { toOpenMetrics, wantsOpenMetrics } from './openmetrics.ts';

test('Prometheus text becomes OpenMetrics: counters named without _total, no blank lines, # EOF last', async () => {
  const text = [
    '# HELP tollgate_gateway_errors_total Replies.',
    '# TYPE tollgate_gateway_errors_total counter',
    'tollgate_gateway_errors_total{code="GW_ERR_NO_ROUTE"} 3',
    '',
    '# HELP odd A value.',
    '# TYPE odd gauge',
    'odd Nan',
    '',
  ].join('\n');
  assert.equal(
    toOpenMetrics(text, new RouteStatsRegistry()),
    [
      '# HELP tollgate_gateway_errors Replies.',
      '# TYPE tollgate_gateway_errors counter',
      'tollgate_gateway_errors_total{code="GW_ERR_NO_ROUTE"} 3',
      '# HELP odd A value.',
      '# TYPE odd gauge',
      'odd NaN',
      '# EOF',
      '',
    ].join('\n'),
  );
});

test('a bucket carries the exemplar of the newest traced request that fell in it, and only that bucket', async () => {
  const routes = new RouteStatsRegistry();
  const stats = routes.get('api', 'api-0');
  stats.record(200, 0.004);
  stats.record(200, 0.3, '4bf92f3577b34da6a3ce929d0e0e4736');
  const om = toOpenMetrics(await routes.text(), routes);
  const withExemplar = om.split('\n').filter((l) => l.includes(' # {'));
  assert.equal(withExemplar.length, 1);
  const [sample, exemplar] = withExemplar[0].split(' # ');
  assert.equal(
    sample,
    'tollgate_request_duration_seconds_bucket{service="api",route="api-0",status_class="2xx",le="0.5"} 2',
  );
  assert.match(exemplar, /^\{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\} 0\.3 \d+\.\d{3}$/);
  assert.match(om, /^# TYPE tollgate_requests counter$/m);
  assert.ok(om.endsWith('# EOF\n'));
});

test('OpenMetrics is what an Accept asking for it gets', () => {
  assert.equal(wantsOpenMetrics('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'), true);
  assert.equal(wantsOpenMetrics('text/plain'), false);
  assert.equal(wantsOpenMetrics(undefined), false);
});

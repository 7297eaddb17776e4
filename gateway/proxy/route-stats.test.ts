import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { RouteStatsRegistry } from './route-stats.ts';
import { GatewayRegistry } from '../metrics.ts';

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

function histogram(registry: RouteStatsRegistry): Value[] {
  const metric = registry.metrics().find((m) => m.name === 'tollgate_request_duration_seconds')!;
  return metric.get().values as Value[];
}

test(
  'request duration is a histogram per service, route and ' +
    'status class, so fast errors and slow successes stay apart',
  () => {
    const registry = new RouteStatsRegistry();
    const stats = registry.get('shop', 'api');
    stats.record(200, 2);
    stats.record(200, 3);
    stats.record(503, 0.0004);
    const values = histogram(registry);
    const count = (statusClass: string) =>
      values.find(
        (v) => v.metricName === 'tollgate_request_duration_seconds_count' && v.labels.status_class === statusClass,
      )?.value;
    const sum = (statusClass: string) =>
      values.find(
        (v) => v.metricName === 'tollgate_request_duration_seconds_sum' && v.labels.status_class === statusClass,
      )?.value;
    const bucket = (statusClass: string, le: number | string) =>
      values.find(
        (v) =>
          v.metricName === 'tollgate_request_duration_seconds_bucket' &&
          v.labels.status_class === statusClass &&
          v.labels.le === le,
      )?.value;
    assert.equal(count('2xx'), 2);
    assert.equal(sum('2xx'), 5);
    assert.equal(count('5xx'), 1);
    assert.equal(sum('5xx'), 0.0004);
    assert.equal(count('4xx'), undefined, 'a class without requests has no series');
    assert.equal(bucket('5xx', 0.0005), 1, 'the fast error in the first bucket');
    assert.equal(bucket('2xx', 1), 0, 'the slow successes are not under 1 s');
    assert.equal(bucket('2xx', 5), 2);
    assert.equal(bucket('2xx', '+Inf'), 2);
    for (const v of values) {
      const expected =
        v.metricName === 'tollgate_request_duration_seconds_bucket'
          ? ['le', 'route', 'service', 'status_class']
          : ['route', 'service', 'status_class'];
      assert.deepEqual(Object.keys(v.labels).sort(), expected);
    }
  },
);

test('requests_total and the histogram count agree per status class', () => {
  const registry = new RouteStatsRegistry();
  const stats = registry.get('shop', 'api');
  for (const status of [200, 204, 404, 502, 99, 600]) stats.record(status, 0.01);
  const totals = registry
    .metrics()
    .find((m) => m.name === 'tollgate_requests_total')!
    .get().values as Value[];
  const counts = histogram(registry).filter((v) => v.metricName === 'tollgate_request_duration_seconds_count');
  const byClass = (vs: Value[]) => Object.fromEntries(vs.map((v) => [v.labels.status_class, v.value]));
  assert.deepEqual(byClass(counts), byClass(totals));
  assert.deepEqual(byClass(totals), { '2xx': 2, '4xx': 1, '5xx': 3 });
});

/** RouteStats of `n` routes with requests in several classes, one with a name that needs escaping. */
function populated(n: number): RouteStatsRegistry {
  const registry = new RouteStatsRegistry();
  for (let i = 0; i < n; i++) {
    const s = registry.get(`svc${i % 7}`, i === 3 ? 'odd"\\name\nx' : `r${i}`);
    for (const [status, seconds] of [
      [200, 0.0003],
      [200, 0.02],
      [404, 0.001],
      [503, 7.5],
      [200, 1e9],
    ])
      if ((i + status) % 3 !== 0) s.record(status, seconds);
  }
  return registry;
}

test(
  "the route families' text, written by RouteStats, " + 'is the text prom-client writes from the same samples',
  async () => {
    const registry = populated(600);
    const ours = new GatewayRegistry();
    const theirs = new Registry();
    for (const m of registry.metrics()) {
      ours.registerMetric(m as never);
      const { text: _text, ...plain } = m;
      theirs.registerMetric(plain as never);
    }
    const text = await ours.metrics();
    assert.equal(text, await theirs.metrics());
    assert.ok(text.includes('route="odd\\"\\\\name\\nx"'), 'the label value escaped as prom-client escapes it');
    assert.ok(text.split('\n').length > 600 * 10);
  },
);

test('a scrape of many routes lets the event loop run while it writes them', async () => {
  const register = new GatewayRegistry();
  for (const m of populated(3000).metrics()) register.registerMetric(m as never);
  let turns = 0;
  let running = true;
  const spin = () => {
    if (running) {
      turns++;
      setImmediate(spin);
    }
  };
  setImmediate(spin);
  await register.metrics();
  running = false;
  // Through prom-client the whole text is written in one go: no turn of the loop until it is done.
  assert.ok(turns >= 10, `${turns} turns`);
});

test(
  'what workers send (wire), summed on the primary ' +
    '(addWire), writes what one registry that counted every request writes',
  async () => {
    const a = new RouteStatsRegistry();
    const b = new RouteStatsRegistry();
    const all = new RouteStatsRegistry();
    // Seconds a binary fraction holds exactly, so sums do not depend on the order they were added in.
    const seconds = [0.0001220703125, 0.00390625, 0.0625, 0.5, 2, 8, 64];
    let n = 0;
    for (const [registry, routes] of [
      [a, 40],
      [b, 60],
    ] as const) {
      for (let r = 0; r < routes; r++) {
        for (let i = 0; i < (r % 4) + 1; i++) {
          const status = [200, 404, 503, 101, 302, 600][(r + i + n) % 6]!;
          const s = seconds[(r * 3 + i) % seconds.length]!;
          const name = r === 7 ? 'odd"\\name\nx' : `route${r}`;
          registry.get(`svc${r % 5}`, name).record(status, s);
          all.get(`svc${r % 5}`, name).record(status, s);
        }
        n++;
      }
    }
    a.get('idle', 'never');
    all.get('idle', 'never');
    const wa = a.wire();
    assert.equal(wa.names.length, 2 * 40, 'a route that answered nothing is not sent');
    const primary = new RouteStatsRegistry();
    primary.addWire(JSON.parse(JSON.stringify(wa)));
    primary.addWire(JSON.parse(JSON.stringify(b.wire())));
    const lines = (text: string) => text.split('\n').sort();
    const expected = await all.text();
    assert.deepEqual(lines(await primary.text()), lines(expected));
    assert.ok(expected.split('\n').length > 100 * 16);
  },
);

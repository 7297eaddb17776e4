import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AccessEvent } from '../../shared/access-event.ts';
import { emptyCounters, mergeCounters, quantileMs, TrafficAggregator } from '../../collector/aggregate/traffic.ts';
import { sampleEvent } from '../../collector/aggregate/sample-event.fixture.ts';
import { LiveStats } from '../../collector/embedded/live-stats.ts';
import { EmbeddedReportSource } from '../../collector/embedded/report-source.ts';
import { EmbeddedStore } from '../../collector/embedded/store.ts';
import { RecentEvents } from '../../collector/embedded/recent-events.ts';
import { encode } from '../../shared/access-event-codec.ts';
import { registerReportRoutes } from '../../collector/reports/routes.ts';
import { installErrorReplies } from '../../gateway/control/admin/replies.ts';

const H = 3_600_000;
const T = Date.UTC(2025, 2, 10, 13);
/** "Now" for `final`: 2025-03-12 12:00Z, so 03-09 (ended 03-10 00:00, + 48 h = 03-12 00:00) is final and 03-10 is not.
 * */
const NOW = Date.UTC(2025, 2, 12, 12);

function events(): AccessEvent[] {
  const out: AccessEvent[] = [];
  // acme/api at 13:00: 99 fast requests (1.8 ms); acme/search at 13:00: 1 slow one (600 ms, a 503).
  for (let i = 0; i < 99; i++) out.push(sampleEvent({ startMs: T + i * 1000 }));
  out.push(
    sampleEvent({
      startMs: T + 5,
      service: 'search',
      status: 503,
      upstreamStatus: 503,
      totalUs: 600_000,
      bytesIn: 1,
      bytesOut: 2,
    }),
  );
  // beta/api at 14:00: a 404 and a rate-limited 429; an anonymous request; acme a day earlier.
  out.push(sampleEvent({ startMs: T + H, appId: 'beta, inc "b"', status: 404, upstreamStatus: 404 }));
  out.push(
    sampleEvent({
      startMs: T + H + 1,
      appId: 'beta, inc "b"',
      status: 429,
      upstreamStatus: 0,
      errorClass: 'rate_limited',
    }),
  );
  out.push(sampleEvent({ startMs: T + H + 2, appId: '' }));
  out.push(sampleEvent({ startMs: T - 24 * H, status: 301, upstreamStatus: 301 }));
  return out;
}

async function server(t: { after(fn: () => Promise<void> | void): void }): Promise<FastifyInstance> {
  const store = EmbeddedStore.open(':memory:');
  const agg = new TrafficAggregator();
  for (const e of events()) agg.add(e);
  store.applyBatch({ source: 'log', from: 0, next: 1, deltas: agg.drain(), deadLetters: [] });
  const live = new LiveStats(() => NOW);
  live.apply(
    [
      {
        granularity: 'day',
        bucketStartMs: Date.UTC(2025, 2, 12),
        appId: 'acme',
        service: 'api',
        protocol: 'http/1.1',
        grpcSlot: 0,
        counters: { ...emptyCounters(), requests: 3 },
      },
    ],
    new Map([[Math.floor(NOW / 1000) - 2, 40]]),
  );
  // Like the admin server: the request id comes from X-Request-Id.
  const app = Fastify({ genReqId: (req) => String(req.headers['x-request-id'] ?? 'generated') });
  installErrorReplies(app); // as the admin server does
  const recent = new RecentEvents(128);
  for (const e of events()) recent.add(encode(e));
  const collector = {
    live: () => live.snapshot(),
    recent: (q: Parameters<RecentEvents['newest']>[0]) => recent.newest(q),
  };
  registerReportRoutes(app, new EmbeddedReportSource(store, collector), { now: () => NOW });
  await app.ready();
  t.after(async () => {
    await app.close();
    store.close();
  });
  return app;
}

async function get(
  app: FastifyInstance,
  url: string,
): Promise<{ status: number; body: any; headers: Record<string, unknown>; text: string }> {
  const res = await app.inject({ method: 'GET', url, headers: { 'x-request-id': 'req-1' } });
  const type = String(res.headers['content-type']);
  return {
    status: res.statusCode,
    headers: res.headers,
    text: res.body,
    body: type.startsWith('application/json') ? res.json() : undefined,
  };
}

const RANGE = 'from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z';

test('the hourly traffic report of one app and service has one row per bucket with the report fields', async (t) => {
  const app = await server(t);
  const res = await get(app, `/reports/traffic?${RANGE}&app=acme&service=api&granularity=hour`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.rows, [
    {
      bucket: '2025-03-10T13:00:00.000Z',
      requests: 99,
      status_2xx: 99,
      status_3xx: 0,
      status_4xx: 0,
      status_5xx: 0,
      bytes_in: 990,
      bytes_out: 9900,
      messages_in: 0,
      messages_out: 0,
      latency_p50_ms: 1.75,
      latency_p95_ms: 2.425,
      latency_p99_ms: 2.485,
      protocols: { 'http/1.1': 99, h2: 0, grpc: 0, websocket: 0, tcp: 0 },
      grpc_statuses: {},
    },
  ]);
});

test('omitting the service merges its histograms, so quantiles come from all requests', async (t) => {
  const app = await server(t);
  const { body } = await get(app, `/reports/traffic?${RANGE}&app=acme`);
  assert.equal(body.rows.length, 1);
  const [row] = body.rows;
  assert.equal(row.requests, 100);
  assert.equal(row.status_5xx, 1);
  const fast = { ...emptyCounters() };
  fast.latency[2] = 99;
  const slow = { ...emptyCounters() };
  slow.latency[9] = 1;
  const merged = mergeCounters(fast, slow).latency;
  assert.equal(row.latency_p99_ms, quantileMs(merged, 0.99));
  assert.equal(row.latency_p99_ms, 2.5, 'the slow request is the 100th: p99 stays in the fast bucket');
  assert.notEqual(row.latency_p99_ms, (quantileMs(fast.latency, 0.99) + quantileMs(slow.latency, 0.99)) / 2);
});

test('omitting the app sums every app, anonymous included; day granularity reads the daily rows', async (t) => {
  const app = await server(t);
  const hourly = await get(app, `/reports/traffic?${RANGE}`);
  assert.deepEqual(
    hourly.body.rows.map((r: any) => [r.bucket, r.requests, r.status_4xx]),
    [
      ['2025-03-10T13:00:00.000Z', 100, 0],
      ['2025-03-10T14:00:00.000Z', 3, 2],
    ],
  );
  const daily = await get(app, '/reports/traffic?from=2025-03-09&to=2025-03-11&granularity=day');
  assert.deepEqual(
    daily.body.rows.map((r: any) => [r.bucket, r.requests, r.status_3xx]),
    [
      ['2025-03-09T00:00:00.000Z', 1, 1],
      ['2025-03-10T00:00:00.000Z', 103, 0],
    ],
  );
  const exclusiveTo = await get(app, '/reports/traffic?from=2025-03-10T13:00:00%2B00:00&to=2025-03-10T14:00:00Z');
  assert.deepEqual(
    exclusiveTo.body.rows.map((r: any) => r.bucket),
    ['2025-03-10T13:00:00.000Z'],
    'to is exclusive',
  );
});

test(
  'billing QPD has one row per app and day with ' + 'billable requests and final after the lateness window',
  async (t) => {
    const app = await server(t);
    const res = await get(app, '/billing/qpd?from=2025-03-09&to=2025-03-10');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.rows, [
      { date: '2025-03-09', app_id: 'acme', requests: 1, billable_requests: 1, final: true, ...http1(1) },
      { date: '2025-03-10', app_id: 'acme', requests: 100, billable_requests: 99, final: false, ...http1(100) },
      { date: '2025-03-10', app_id: 'beta, inc "b"', requests: 2, billable_requests: 1, final: false, ...http1(2) },
    ]);
  },
);

function http1(requests: number) {
  return { http1_requests: requests, h2_requests: 0, grpc_requests: 0, websocket_requests: 0 };
}

test('billing QPD as CSV has a header and quotes fields that need it', async (t) => {
  const app = await server(t);
  const res = await get(app, '/billing/qpd?from=2025-03-10&to=2025-03-10&format=csv');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/csv/);
  assert.match(String(res.headers['content-disposition']), /filename="qpd-2025-03-10-2025-03-10\.csv"/);
  assert.equal(
    res.text,
    [
      'date,app_id,requests,billable_requests,final,http1_requests,h2_requests,grpc_requests,websocket_requests',
      '2025-03-10,acme,100,99,false,100,0,0,0',
      '2025-03-10,"beta, inc ""b""",2,1,false,2,0,0,0',
      '',
    ].join('\r\n'),
  );
});

test('live stats give the current qps and today per app and service', async (t) => {
  const app = await server(t);
  const res = await get(app, '/stats/live');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { status: 'ok', qps: 4, today: [{ app_id: 'acme', service: 'api', requests: 3 }] });
});

test('recent events come newest first, filtered by app, service and status or status class, limited', async (t) => {
  const app = await server(t);
  const all = (await get(app, '/events/recent?limit=500')).body.events;
  assert.equal(all.length, events().length, 'the ring holds them all');
  // Newest counted first: the ring's order is the order the collector counted them in.
  assert.equal(all[0].status, 301);
  assert.deepEqual(Object.keys(all[0]).sort(), [
    'app_id',
    'bytes_in',
    'bytes_out',
    'client_ip',
    'error_class',
    'grpc_status',
    'id',
    'method',
    'protocol',
    'route',
    'service',
    'status',
    'target',
    'time',
    'total_ms',
    'trace_id',
  ]);
  const refused = (await get(app, '/events/recent?status=4xx')).body.events;
  assert.deepEqual(
    refused.map((e: { status: number }) => e.status),
    [429, 404],
  );
  assert.equal(refused[0].error_class, 'rate_limited');
  const exact = (await get(app, '/events/recent?status=503&service=search')).body.events;
  assert.deepEqual(
    exact.map((e: { total_ms: number }) => e.total_ms),
    [600],
  );
  const beta = (await get(app, `/events/recent?app=${encodeURIComponent('beta, inc "b"')}&limit=1`)).body.events;
  assert.deepEqual(
    beta.map((e: { status: number }) => e.status),
    [429],
  );
  assert.equal((await get(app, '/events/recent')).body.events.length, 50, 'limit defaults to 50');
});

test('parameter errors are 400 GW_ERR_BAD_REQUEST naming the field', async (t) => {
  const app = await server(t);
  const cases: Array<[string, string]> = [
    ['/reports/traffic?to=2025-03-11T00:00:00Z', 'from'],
    ['/reports/traffic?from=yesterday&to=2025-03-11T00:00:00Z', 'from'],
    ['/reports/traffic?from=2025-03-10T00:00:00&to=2025-03-11T00:00:00Z', 'from'],
    ['/reports/traffic?from=2025-03-10T00:00:00Z&to=2025-02-30T00:00:00Z', 'to'],
    ['/reports/traffic?from=2025-03-11T00:00:00Z&to=2025-03-10T00:00:00Z', 'from'],
    ['/reports/traffic?from=2024-01-01T00:00:00Z&to=2025-03-10T00:00:00Z', 'to'],
    [`/reports/traffic?${RANGE}&granularity=week`, 'granularity'],
    [`/reports/traffic?${RANGE}&app=a&app=b`, 'app'],
    [`/reports/traffic?${RANGE}&service=`, 'service'],
    [`/reports/traffic?${RANGE}&tenant=acme`, 'tenant'],
    ['/billing/qpd?from=2025-03-01', 'to'],
    ['/billing/qpd?from=2025-3-01&to=2025-03-02', 'from'],
    ['/billing/qpd?from=2025-03-01&to=2025-02-29', 'to'],
    ['/billing/qpd?from=2025-03-02&to=2025-03-01', 'from'],
    ['/billing/qpd?from=2025-03-01&to=2025-03-02&format=xml', 'format'],
    [`/reports/traffic?${RANGE}&protocol=http2`, 'protocol'],
    [`/reports/traffic?${RANGE}&grpc_status=BROKEN`, 'grpc_status'],
    [`/reports/traffic?${RANGE}&grpc_status=17`, 'grpc_status'],
    [`/reports/traffic?${RANGE}&grpc_status=toString`, 'grpc_status'],
    [`/reports/traffic?${RANGE}&grpc_status=OK&protocol=h2`, 'grpc_status'],
    ['/billing/qpd?from=2025-03-01&to=2025-03-02&protocol=', 'protocol'],
    ['/stats/live?verbose=1', 'verbose'],
    ['/events/recent?limit=0', 'limit'],
    ['/events/recent?limit=501', 'limit'],
    ['/events/recent?limit=2.5', 'limit'],
    ['/events/recent?status=6xx', 'status'],
    ['/events/recent?status=4x', 'status'],
    ['/events/recent?since=1', 'since'],
    // Outside what ClickHouse's DateTime holds: 18.16 read 2200 as 2063.
    ['/reports/traffic?from=2200-01-01T00:00:00Z&to=2200-01-02T00:00:00Z', 'from'],
    ['/reports/traffic?from=2105-12-31T00:00:00Z&to=2106-01-01T00:00:01Z', 'to'],
    ['/reports/traffic?from=1969-12-31T00:00:00Z&to=1970-01-01T12:00:00Z', 'from'],
    ['/billing/qpd?from=2105-12-30&to=2106-01-01', 'to'],
    ['/billing/qpd?from=1969-12-31&to=1970-01-01', 'from'],
  ];
  for (const [url, field] of cases) {
    const res = await get(app, url);
    assert.equal(res.status, 400, url);
    assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST', url);
    assert.ok(res.body.message.startsWith(`${field}: `), `${url} names ${field}: ${res.body.message}`);
    assert.equal(res.body.request_id, 'req-1');
  }
});

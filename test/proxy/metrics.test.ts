import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { closedPort } from '../helpers/raw-upstream.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let up: TestUpstream;

before(async () => {
  up = await startUpstream('echo');
  gw = await startGateway({
    services: [
      { name: 'shop', routes: [{ name: 'shop-api', paths: ['/api'] }], upstream: { targets: [{ url: up.url }] } },
      {
        name: 'gone',
        routes: [{ name: 'gone-all', paths: ['/gone'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${await closedPort()}` }], retries: 0 },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Value of one sample, labels given in exposition order; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a 404 and a 200 are counted by service, route and status class, and the 404 by its error code', async () => {
  assert.equal((await send(gw.url, '/api/items')).status, 200);
  assert.equal((await send(gw.url, '/nowhere')).status, 404);
  // Counted when the response closes, which may be just after the client has it.
  let text = '';
  await eventually(async () => {
    text = await scrape();
    return (
      sample(text, 'tollgate_gateway_errors_total{code="GW_ERR_NO_ROUTE"}') === 1 &&
      sample(text, 'tollgate_requests_total{service="shop",route="shop-api",status_class="2xx"}') === 1
    );
  }, 2000);
  assert.equal(sample(text, 'tollgate_requests_total{service="shop",route="shop-api",status_class="2xx"}'), 1, text);
  assert.equal(sample(text, 'tollgate_requests_total{service="shop",route="shop-api",status_class="4xx"}') ?? 0, 0);
  assert.equal(sample(text, 'tollgate_requests_total{service="",route="",status_class="4xx"}'), 1, text);
  assert.equal(sample(text, 'tollgate_gateway_errors_total{code="GW_ERR_NO_ROUTE"}'), 1, text);
});

/** Sends raw bytes the request path never sees; asserts the reply's status and that it was counted as unrouted, under
 * its status class and code. */
async function countedUnrouted(bytes: string, status: number, code: string) {
  const series = `tollgate_requests_total{service="",route="",status_class="${String(status)[0]}xx"}`;
  const before = sample(await scrape(), series) ?? 0;
  const res = await rawRequest(gw.proxy.port, bytes);
  assert.equal(res.status, status);
  const text = await scrape();
  assert.equal(sample(text, series), before + 1, text);
  assert.equal(sample(text, `tollgate_gateway_errors_total{code="${code}"}`), 1, text);
}

test('a request the parser refuses is counted as an unrouted 4xx with its code', async () => {
  await countedUnrouted(
    'POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    400,
    'GW_ERR_AMBIGUOUS_FRAMING',
  );
});

test(
  'a CONNECT request, which never reaches the ' + 'request path, is counted as an unrouted 5xx with its code',
  async () => {
    await countedUnrouted(
      'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n',
      501,
      'GW_ERR_METHOD_NOT_SUPPORTED',
    );
  },
);

test(
  'a WebSocket handshake without Connection: Upgrade, refused before routing, is ' +
    'counted as an unrouted 4xx with its code (no 5xx to page on)',
  async () => {
    await countedUnrouted(
      'GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nUpgrade: ' +
        'websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      403,
      'GW_ERR_UPGRADE_NOT_SUPPORTED',
    );
  },
);

test('a reply the gateway writes after routing is counted once, under its route and its code', async () => {
  const res = await send(gw.url, '/gone');
  assert.equal(res.status, 502);
  assert.equal(res.json().code, 'GW_ERR_UPSTREAM_REFUSED');
  let text = '';
  await eventually(
    async () => sample((text = await scrape()), 'tollgate_gateway_errors_total{code="GW_ERR_UPSTREAM_REFUSED"}') === 1,
    2000,
  );
  assert.equal(sample(text, 'tollgate_requests_total{service="gone",route="gone-all",status_class="5xx"}'), 1, text);
  assert.equal(sample(text, 'tollgate_gateway_errors_total{code="GW_ERR_UPSTREAM_REFUSED"}'), 1, text);
});

test('request duration is labelled by status class, so a fast 502 and a 200 fall in separate histograms', async () => {
  await send(gw.url, '/api/items');
  await send(gw.url, '/gone');
  let text = '';
  await eventually(
    async () =>
      (sample(
        (text = await scrape()),
        'tollgate_request_duration_seconds_count{service="gone",route="gone-all",status_class="5xx"}',
      ) ?? 0) >= 1,
    2000,
  );
  assert.ok(
    (sample(text, 'tollgate_request_duration_seconds_count{service="shop",route="shop-api",status_class="2xx"}') ??
      0) >= 1,
    text,
  );
  assert.equal(
    sample(text, 'tollgate_request_duration_seconds_count{service="gone",route="gone-all",status_class="2xx"}'),
    undefined,
    text,
  );
  const labelSets = new Set(
    text
      .split('\n')
      .filter((l) => l.startsWith('tollgate_request_duration_seconds'))
      .map((l) =>
        [...l.matchAll(/(\w+)="/g)]
          .map((m) => m[1])
          .sort()
          .join(','),
      ),
  );
  assert.deepEqual(labelSets, new Set(['le,route,service,status_class', 'route,service,status_class']));
});

test('a gateway on the file store exports no tollgate_store_up (only a shared Redis store can be down)', async () => {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.ok(text.includes('tollgate_config_reloads_total'), 'the control plane metrics are there');
  assert.equal(text.includes('tollgate_store_up'), false);
});

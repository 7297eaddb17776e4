import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { service, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';

const CLIENTS = 8;
const LOAD_MS = 5000;
const MIN_APPLIES = 20;

let one: TestUpstream;
let two: TestUpstream;
let gw: TestGateway;

before(async () => {
  one = await startUpstream('one');
  two = await startUpstream('two');
});
after(async () => {
  await gw?.close();
  await Promise.all([one.close(), two.close()]);
});

/**
 * Four valid configs that all route /load: a header op changes (same pool
 * kept), the weights change, and the target list swaps between the two
 * upstreams (pool replaced).
 */
const configs = () => [
  { services: [service('svc', [one.url], [{ paths: ['/load'], request_headers: { set: { 'x-variant': 'a' } } }])] },
  { services: [service('svc', [one.url], [{ paths: ['/load'], request_headers: { set: { 'x-variant': 'b' } } }])] },
  {
    services: [
      {
        ...service('svc', [], [{ paths: ['/load'] }]),
        upstream: {
          targets: [
            { url: one.url, weight: 1 },
            { url: two.url, weight: 3 },
          ],
        },
      },
    ],
  },
  { services: [service('svc', [two.url], [{ paths: ['/load'], request_headers: { set: { 'x-variant': 'c' } } }])] },
];

test('re-applying the config 20+ times under load fails no request', async (t) => {
  gw = await startGateway(configs()[0]);
  const admin = adminClient(gw.adminUrl);
  const agent = new Agent({ connections: CLIENTS });
  const stopAt = Date.now() + LOAD_MS;
  const failures: string[] = [];
  const servedBy = new Map<string, number>();
  let requests = 0;

  const client = async () => {
    while (Date.now() < stopAt) {
      try {
        const res = await request(`${gw.url}/load/item`, { dispatcher: agent });
        const body = await res.body.text();
        requests++;
        if (res.statusCode < 200 || res.statusCode > 299) failures.push(`${res.statusCode} ${body}`);
        else {
          const name = JSON.parse(body).name as string;
          servedBy.set(name, (servedBy.get(name) ?? 0) + 1);
        }
      } catch (err) {
        requests++;
        failures.push(`error ${(err as Error).message}`);
      }
    }
  };

  let applies = 0;
  const applyFailures: string[] = [];
  const reloader = async () => {
    const list = configs();
    // Spread the applies over the load window; keep going until it closes.
    while (Date.now() < stopAt - 100) {
      const r = await admin.putConfig(list[++applies % list.length]);
      if (r.status !== 200) applyFailures.push(`${r.status} ${r.text}`);
      await sleep(LOAD_MS / (MIN_APPLIES * 4));
    }
  };

  await Promise.all([...Array.from({ length: CLIENTS }, client), reloader()]);
  await agent.close();

  t.diagnostic(`${requests} requests, ${applies} applies`);
  assert.deepEqual(applyFailures, []);
  assert.ok(applies >= MIN_APPLIES, `only ${applies} applies`);
  assert.ok(requests > 500, `only ${requests} requests in ${LOAD_MS} ms`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${requests} requests failed`);
  assert.ok(
    (servedBy.get('one') ?? 0) > 0 && (servedBy.get('two') ?? 0) > 0,
    `both upstreams served: ${JSON.stringify([...servedBy])}`,
  );
});

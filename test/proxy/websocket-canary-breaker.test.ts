// The canary split and the circuit breaker run on a WebSocket handshake as on any request (issue 33): a connection
// goes, for its whole life, to the group its handshake was given; failed handshakes open the breaker, and an open
// breaker refuses handshakes with 503 without trying the upstream.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric, metricReaching } from '../helpers/metrics.ts';
import { closedPort } from '../helpers/ports.ts';
import { exchange, openWebSocket } from '../helpers/websocket-client.ts';

let stable: Server;
let beta: Server;
let gw: TestGateway;

/** A WebSocket server answering each message with `name:message`. */
async function namedEcho(name: string): Promise<Server> {
  const server = createServer();
  new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (data) => ws.send(`${name}:${data}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

before(async () => {
  stable = await namedEcho('stable');
  beta = await namedEcho('beta');
  gw = await startGateway({
    services: [
      {
        name: 'split',
        routes: [{ paths: ['/split'] }],
        upstream: { targets: [{ url: url(stable) }] },
        canary: {
          stable_weight: 50,
          groups: [{ name: 'beta', weight: 50, upstream: { targets: [{ url: url(beta) }] } }],
        },
      },
      {
        name: 'fragile',
        routes: [{ paths: ['/fragile'] }],
        upstream: {
          targets: [{ url: `http://127.0.0.1:${await closedPort()}` }],
          retries: 0,
          health: { passive: { max_failures: 1000 } }, // the breaker on its own, not an ejection
          breaker: { enabled: true, min_requests: 3, error_ratio: 0.5, open_ms: 60_000 },
        },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  for (const s of [stable, beta]) {
    s?.closeAllConnections();
    s?.close();
  }
});

const open = (path: string, headers: Record<string, string> = {}) => openWebSocket(gw.url, path, { headers });

test("the canary split picks each handshake's group; the connection stays with it; X-Canary forces it", async () => {
  const sockets: WebSocket[] = [];
  const groups: string[] = [];
  for (let i = 0; i < 20; i++) {
    const ws = await open(`/split/${i}`);
    sockets.push(ws);
    const first = (await exchange(ws, 'a')).split(':')[0];
    assert.equal(await exchange(ws, 'b'), `${first}:b`, 'every message of a connection goes to one group');
    groups.push(first);
  }
  const count = (name: string) => groups.filter((g) => g === name).length;
  assert.deepEqual([count('stable'), count('beta')], [10, 10], 'split 50/50 exactly');
  const forced = await open('/split/forced', { 'x-canary': 'always' });
  sockets.push(forced);
  assert.equal(await exchange(forced, 'c'), 'beta:c');
  assert.equal(await metric(gw, 'tollgate_canary_requests_total', 'service="split",group="beta"'), 11);
  for (const ws of sockets) ws.close();
});

test('failed handshakes open the breaker; then a handshake gets 503 without an upstream attempt', async () => {
  for (let i = 0; i < 3; i++) await assert.rejects(open('/fragile/x'), /status 502/, 'the upstream is down');
  assert.equal(await metric(gw, 'tollgate_upstream_breaker_state', 'service="fragile",group=""'), 1, 'open');
  await assert.rejects(open('/fragile/x'), /status 503/);
  assert.equal(await metric(gw, 'tollgate_upstream_breaker_rejected_total', 'service="fragile",group=""'), 1);
  assert.equal(await metricReaching(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_CIRCUIT_OPEN"', 1), 1);
});

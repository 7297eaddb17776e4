import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { service, sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

// Idle upstream connections: an upstream that announces its keep-alive timeout
// (`Keep-Alive: timeout=N`) is followed, less undici's 2 s margin, up to
// pool.keep_alive_max_ms; one that announces none gets pool.keep_alive_ms.

let gw: TestGateway;
let announcing: TestUpstream; // keepAliveTimeout 4 s: announces timeout=4, so 2 s is kept
let silent: TestUpstream; // keepAliveTimeout 0: announces nothing and never closes an idle socket
const connections = new Map<TestUpstream, number>();

before(async () => {
  announcing = await startUpstream('announcing');
  announcing.server.keepAliveTimeout = 4000;
  silent = await startUpstream('silent');
  silent.server.keepAliveTimeout = 0;
  for (const up of [announcing, silent]) {
    connections.set(up, 0);
    up.server.on('connection', () => connections.set(up, connections.get(up)! + 1));
  }
  const pool = (p: Record<string, number>) => ({ pool: p, health: { passive: { max_failures: 0 } } });
  gw = await startGateway({
    services: [
      service(
        'followed',
        [announcing.url],
        [{ paths: ['/followed'], strip_prefix: true }],
        pool({ keep_alive_ms: 200 }),
      ),
      service(
        'capped',
        [announcing.url],
        [{ paths: ['/capped'], strip_prefix: true }],
        pool({ keep_alive_ms: 200, keep_alive_max_ms: 200 }),
      ),
      service('silent', [silent.url], [{ paths: ['/silent'], strip_prefix: true }], pool({ keep_alive_ms: 200 })),
    ],
  });
});

after(async () => {
  await gw?.close();
  await announcing?.close();
  await silent?.close();
});

/** Two requests 600 ms apart; returns how many upstream connections they took. */
async function connectionsForTwoRequests(prefix: string, up: TestUpstream): Promise<number> {
  const before = connections.get(up)!;
  assert.equal((await send(gw.url, `${prefix}/a`)).status, 200);
  await sleep(600);
  assert.equal((await send(gw.url, `${prefix}/b`)).status, 200);
  return connections.get(up)! - before;
}

test('an upstream announcing timeout=4 keeps an idle connection past keep_alive_ms (4 s less 2 s)', async () => {
  assert.equal(await connectionsForTwoRequests('/followed', announcing), 1);
});

test('keep_alive_max_ms caps what the upstream announces', async () => {
  assert.equal(await connectionsForTwoRequests('/capped', announcing), 2);
});

test('an upstream announcing nothing gets keep_alive_ms', async () => {
  assert.equal(await connectionsForTwoRequests('/silent', silent), 2);
});

test('the gateway announces its 65 s client keep-alive (proxy.keep_alive_ms)', async () => {
  const agent = keepAliveAgent();
  try {
    const res = await send(gw.url, '/followed/x', { agent });
    assert.equal(res.status, 200);
    assert.equal(res.headers['keep-alive'], 'timeout=65');
  } finally {
    agent.destroy();
  }
});

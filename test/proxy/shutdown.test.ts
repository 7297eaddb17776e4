import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** An upstream that answers `/slow` 300 ms after it arrives, `/hang` never, anything else at once; `inflight` resolves
 * when a slow or hanging request is in. */
async function slowUpstream() {
  let arrived!: () => void;
  const inflight = new Promise<void>((r) => {
    arrived = r;
  });
  const up = await startUpstream('slow', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/slow')
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow done'), 300);
    else if (req.url !== '/hang') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (req.url === '/slow' || req.url === '/hang') arrived();
  });
  return { up, inflight };
}

// Regression: a request whose response head was not yet written when SIGTERM came got
// `Connection: keep-alive` and `Keep-Alive: timeout=65`, though the README promised Connection: close.
test('a proxied request in flight when the drain starts is answered with Connection: close', async () => {
  const { up, inflight } = await slowUpstream();
  const gw = await startGateway({
    services: [{ name: 'svc', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: up.url }] } }],
  });
  const agent = keepAliveAgent();
  let closing: Promise<void> | undefined;
  try {
    assert.equal(
      (await send(gw.url, '/warm', { agent })).headers.connection,
      'keep-alive',
      'keep-alive before the drain',
    );
    const pending = send(gw.url, '/slow', { agent });
    await inflight;
    closing = gw.close();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.text, 'slow done');
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.headers['keep-alive'], undefined);
  } finally {
    agent.destroy();
    await (closing ?? gw.close());
    await up.close();
  }
});

test('a reply the gateway writes during the drain (an upstream timeout) has Connection: close too', async () => {
  const { up, inflight } = await slowUpstream();
  const gw = await startGateway({
    services: [
      {
        name: 'svc',
        routes: [{ paths: ['/'] }],
        upstream: { targets: [{ url: up.url }], retries: 0, timeouts: { total_ms: 400 } },
      },
    ],
  });
  const agent = keepAliveAgent();
  let closing: Promise<void> | undefined;
  try {
    const pending = send(gw.url, '/hang', { agent });
    await inflight;
    closing = gw.close();
    const res = await pending;
    assert.equal(res.status, 504);
    assert.equal(res.json().code, 'GW_ERR_UPSTREAM_TIMEOUT');
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.headers['keep-alive'], undefined);
  } finally {
    agent.destroy();
    await (closing ?? gw.close());
    await up.close();
  }
});

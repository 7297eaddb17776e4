import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, eventually } from '../../../test/helpers/gateway.ts';
import { send } from '../../../test/helpers/http-client.ts';
import { rawRequest } from '../../../test/helpers/raw-http.ts';
import { startUpstream } from '../../../test/helpers/upstream.ts';
import { readEvents } from '../../../test/helpers/events.ts';

test('every request becomes one access event in the embedded log, rejections included, with its reason', async () => {
  const up = await startUpstream('up');
  const gw = await startGateway({
    services: [
      {
        name: 'api',
        routes: [{ name: 'api-route', paths: ['/api'], strip_prefix: true }],
        upstream: { targets: [{ url: up.url }] },
      },
    ],
  });
  try {
    const ok = await send(gw.url, '/api/hello', {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    assert.equal(ok.status, 200);
    const post = await send(gw.url, '/api/upload', { method: 'POST', body: 'x'.repeat(1234) });
    assert.equal(post.status, 200);
    assert.equal((await send(gw.url, '/nowhere')).status, 404);
    const tooBig = await rawRequest(
      gw.proxy.port,
      `GET /api HTTP/1.1\r\nHost: a\r\nX-Big: ${'y'.repeat(20000)}\r\n\r\n`,
    );
    assert.equal(tooBig.status, 431);
  } finally {
    await gw.close();
    await up.close();
  }
  const events = await eventually(async () => {
    const e = await readEvents(gw);
    return e.length >= 4 ? e : undefined;
  }, 3000);
  assert.ok(events, 'events were written');
  assert.equal(events.length, 4, 'exactly one event per request');
  assert.equal(new Set(events.map((e) => e.id)).size, 4, 'ids are unique');
  const byStatus = new Map(events.map((e) => [`${e.method} ${e.status}`, e]));
  const get = byStatus.get('GET 200')!;
  assert.equal(get.service, 'api');
  assert.equal(get.route, 'api-route');
  assert.equal(get.upstreamStatus, 200);
  assert.equal(get.errorClass, 'none');
  assert.equal(get.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.ok(get.bytesOut > 0 && get.totalUs >= get.upstreamUs && get.upstreamUs > 0);
  assert.match(get.target, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(Math.abs(get.startMs - Date.now()) < 60_000);
  assert.equal(byStatus.get('POST 200')!.bytesIn, 1234);
  const missing = byStatus.get('GET 404')!;
  assert.deepEqual([missing.errorClass, missing.service, missing.upstreamStatus], ['no_route', '', 0]);
  const refused = byStatus.get(' 431')!;
  assert.equal(refused.errorClass, 'headers_too_large');
});

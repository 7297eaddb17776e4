// The guard reads a compressed JSON or form body as its service does: Express's body parser inflates gzip and deflate
// by default. Before, `Content-Encoding: gzip` took any attack past json_body and form_body.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { service, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { metric } from '../helpers/metrics.ts';
import { sha256, startHashingUpstream } from '../helpers/upstream.ts';

test('a gzip body is inspected as it inflates and sent on as it came; an inflation past the limit is not', async () => {
  const up = await startHashingUpstream();
  const gw = await startGateway({
    services: [{ ...service('api', [up.url]), guard: { inspect: { json_body: true, form_body: true } } }],
  });
  const post = (body: Buffer, type: string, coding = 'gzip') =>
    send(gw.url, '/x', { method: 'POST', body, headers: { 'content-type': type, 'content-encoding': coding } });
  try {
    const clean = gzipSync('{"name":"O\'Brien"}');
    assert.equal((await post(clean, 'application/json')).status, 200);
    assert.equal(up.received.at(-1), sha256(clean), 'the compressed bytes arrive as sent');
    assert.equal((await post(gzipSync('{"q":"<script>alert(1)</script>"}'), 'application/json')).status, 403);
    assert.equal((await post(gzipSync("user=admin'--"), 'application/x-www-form-urlencoded')).status, 403);
    // 10 MB of JSON in about 10 KB: inflated to max_inspect_bytes and no further, then sent on uninspected.
    const bomb = gzipSync(`{"pad":"${'x'.repeat(10 * 1024 * 1024)}"}`);
    assert.equal((await post(bomb, 'application/json')).status, 200);
    // A coding the guard cannot undo: sent on, counted.
    assert.equal((await post(Buffer.from('{"a":1}'), 'application/json', 'compress')).status, 200);
    const bodies = (result: string) =>
      metric(gw, 'tollgate_guard_bodies_total', `service="api",type="json",result="${result}"`);
    assert.equal(await bodies('too_large'), 1);
    assert.equal(await bodies('undecodable'), 1);
    assert.equal(up.received.length, 3);
  } finally {
    await gw.close();
    await up.close();
  }
});

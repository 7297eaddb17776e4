// The guard's json_body over HTTP/2, where a body often comes without Content-Length: read up to max_inspect_bytes
// and inspected like a declared one; one past the limit goes to the upstream whole, from its first byte.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { sha256, startHashingUpstream } from '../helpers/upstream.ts';

test('an HTTP/2 JSON body without Content-Length is inspected up to the limit, and past it arrives whole', async () => {
  const up = await startHashingUpstream('{}');
  const received = up.received;
  const gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'api',
        routes: [{ paths: ['/'] }],
        guard: { inspect: { json_body: true }, max_inspect_bytes: 4096 },
        upstream: { targets: [{ url: up.url }] },
      },
    ],
  });
  const session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  /** POSTs `body` in 1,000-byte DATA frames a millisecond apart, with no content-length. */
  const post = (body: string) =>
    new Promise<number>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': '/x', 'content-type': 'application/json' });
      stream.on('response', (h) => {
        stream.resume();
        stream.on('end', () => resolve(Number(h[':status'])));
      });
      const bytes = Buffer.from(body);
      const step = (at: number) => {
        if (at >= bytes.length) return void stream.end();
        stream.write(bytes.subarray(at, at + 1000));
        setTimeout(step, 1, at + 1000);
      };
      step(0);
    });
  try {
    assert.equal(await post(JSON.stringify({ pad: 'x'.repeat(2000), bio: '<script>alert(1)</script>' })), 403);
    const big = JSON.stringify({ pad: 'x'.repeat(50_000), bio: '<script>alert(1)</script>' });
    assert.equal(await post(big), 200, 'past the limit: uninspected');
    const clean = JSON.stringify({ pad: 'y'.repeat(3000) });
    assert.equal(await post(clean), 200);
    assert.deepEqual(received, [sha256(big), sha256(clean)], 'each arrived byte for byte');
  } finally {
    session.close();
    await gw.close();
    await up.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { service, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { anyEvent, eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

/** A POST with a chunked body (no Content-Length), written in `chunks` pieces. */
function postChunked(
  base: string,
  path: string,
  bytes: number,
  chunks = 4,
): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        let code: string | undefined;
        try {
          code = JSON.parse(text).code;
        } catch {
          /* an upstream echo */
        }
        resolve({ status: res.statusCode ?? 0, code });
      });
    });
    // The gateway may answer and close before the whole body is written.
    req.on('error', reject);
    const piece = Buffer.alloc(Math.ceil(bytes / chunks), 'x');
    let left = bytes;
    const write = () => {
      if (left <= 0) return void req.end();
      const n = Math.min(left, piece.length);
      left -= n;
      req.write(piece.subarray(0, n), () => setTimeout(write, 5));
    };
    write();
  });
}

test(
  'a service max_body_bytes overrides ' +
    'proxy.max_body_bytes, for declared lengths and for chunked bodies mid-stream',
  async () => {
    const up = await startUpstream('up');
    const gw = await startGateway({
      proxy: { max_body_bytes: 1000 },
      services: [
        { ...service('small', [up.url], [{ name: 'small', paths: ['/small'] }]), max_body_bytes: 100 },
        { ...service('big', [up.url], [{ name: 'big', paths: ['/big'] }]), max_body_bytes: 5000 },
        service('global', [up.url], [{ name: 'global', paths: ['/global'] }]),
      ],
    });
    try {
      assert.equal((await send(gw.url, '/small', { method: 'POST', body: 'x'.repeat(100) })).status, 200);
      const declared = await send(gw.url, '/small', { method: 'POST', body: 'x'.repeat(101) });
      assert.equal(declared.status, 413);
      assert.equal(declared.json().code, 'GW_ERR_BODY_TOO_LARGE');
      const chunked = await postChunked(gw.url, '/small', 400);
      assert.equal(chunked.status, 413, 'a chunked body over the service limit is cut while it streams');
      assert.equal(chunked.code, 'GW_ERR_BODY_TOO_LARGE');
      assert.equal((await postChunked(gw.url, '/small', 80)).status, 200);
      // A larger service limit lets through what the global one would refuse.
      assert.equal((await send(gw.url, '/big', { method: 'POST', body: 'x'.repeat(3000) })).status, 200);
      assert.equal((await postChunked(gw.url, '/big', 3000)).status, 200);
      assert.equal((await postChunked(gw.url, '/big', 6000, 6)).status, 413);
      // Services without their own limit keep the global one.
      assert.equal((await send(gw.url, '/global', { method: 'POST', body: 'x'.repeat(1001) })).status, 413);
      assert.equal((await postChunked(gw.url, '/global', 3000)).status, 413);
      assert.equal((await postChunked(gw.url, '/global', 900)).status, 200);
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_BODY_TOO_LARGE"'), 5);
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await eventsWhere(gw, anyEvent, 10);
    const tooLarge = events.filter((e) => e.errorClass === 'body_too_large');
    assert.equal(tooLarge.length, 5);
    assert.ok(tooLarge.every((e) => e.status === 413));
    assert.deepEqual(tooLarge.map((e) => e.service).sort(), ['big', 'global', 'global', 'small', 'small']);
  },
);

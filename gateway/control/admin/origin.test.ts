import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { MemoryControlPlane, TOKEN, apiService } from './admin.fixture.ts';
import { startAdmin } from './server.ts';

// What a web page the operator visits could make a browser send to an admin API on 127.0.0.1: a cross-site POST
// (no preflight when it has no body) and, through DNS rebinding, anything at all under the page's own name.

async function withRawAdmin(token: string | undefined, fn: (send: Send) => Promise<void>): Promise<void> {
  const control = new MemoryControlPlane({ services: [apiService] });
  const admin = await startAdmin({ host: '127.0.0.1', port: 0, token, control });
  const send: Send = (method, path, headers) =>
    new Promise((resolve, reject) => {
      const all = token ? { authorization: `Bearer ${TOKEN}`, ...headers } : headers;
      const req = request({ host: '127.0.0.1', port: admin.port, method, path, headers: all }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, code: body.startsWith('{') && JSON.parse(body).code }));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    await fn(send);
  } finally {
    await admin.close();
  }
}
type Send = (
  method: string,
  path: string,
  headers: Record<string, string>,
) => Promise<{ status: number; code: string | false }>;

test('without a token, a cross-site request is refused; the console on its own origin is not', async () => {
  await withRawAdmin(undefined, async (send) => {
    const evil = await send('POST', '/keys/rotate', { origin: 'https://evil.example' });
    assert.deepEqual(evil, { status: 403, code: 'GW_ERR_ADMIN_FORBIDDEN' });
    const opaque = await send('POST', '/config/tls/reload', { origin: 'null' });
    assert.equal(opaque.status, 403, 'a sandboxed page (Origin: null) too');
    const otherPort = await send('GET', '/config', { host: '127.0.0.1:1', origin: 'http://127.0.0.1:2' });
    assert.equal(otherPort.status, 403, 'another port of the same host is another origin');
    const own = await send('GET', '/config', { host: 'localhost:9080', origin: 'http://localhost:9080' });
    assert.equal(own.status, 200, 'the console, served by the admin API itself');
    assert.equal((await send('GET', '/config', {})).status, 200, 'curl and the CLI send no Origin');
  });
  await withRawAdmin(TOKEN, async (send) => {
    // A page cannot send the token; the console behind a proxy that rewrites Host still works.
    const proxied = await send('POST', '/config/tls/reload', { host: '127.0.0.1:9080', origin: 'https://ops.example' });
    assert.equal(proxied.status, 200);
  });
});

test('without a token, a Host that is not localhost or a loopback address is refused (DNS rebinding)', async () => {
  await withRawAdmin(undefined, async (send) => {
    const rebound = await send('GET', '/config', { host: 'evil.example:9080' });
    assert.deepEqual(rebound, { status: 403, code: 'GW_ERR_ADMIN_FORBIDDEN' });
    assert.equal((await send('PUT', '/services/api', { host: 'evil.example' })).status, 403);
    for (const host of ['127.0.0.1:9080', 'localhost', '[::1]:9080', '127.0.0.2'])
      assert.equal((await send('GET', '/config', { host })).status, 200, host);
  });
  await withRawAdmin(TOKEN, async (send) => {
    const named = await send('GET', '/config', { host: 'admin.example:9080' });
    assert.equal(named.status, 200, 'with a token a page cannot use what it reaches: any name may serve');
  });
});

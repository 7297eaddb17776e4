// How the admin API takes requests: hostile and malformed bodies, media types, methods, size limits, ids, CONNECT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAdmin } from './server.ts';
import { rawRequest } from '../../../test/helpers/raw-http.ts';

import { MemoryControlPlane, withAdmin } from './admin.fixture.ts';

test('bodies carrying __proto__, constructor or prototype keys are rejected', () =>
  withAdmin(async (call, control) => {
    for (const raw of [
      '{"services":[],"__proto__":{"polluted":true}}',
      '{"services":[{"name":"x","constructor":{"prototype":{"polluted":true}}}]}',
      '{"services":[{"name":"x","upstream":{"prototype":1}}]}',
    ]) {
      const res = await call('PUT', '/config', { raw });
      assert.equal(res.status, 400, raw);
      assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST');
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(control.current().version, 1);
  }));

test('a body nested past 64 levels gets 400 saying so, not a stack overflow as a 500', () =>
  withAdmin(async (call, control) => {
    const deep = 100_000;
    for (const raw of [
      `{"services":${'['.repeat(deep)}${']'.repeat(deep)}}`,
      `${'{"a":'.repeat(deep)}1${'}'.repeat(deep)}`,
    ]) {
      const res = await call('PUT', '/config', { raw });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST');
      assert.match(res.body.message, /^body nested deeper than 64 levels at \/(services|a)\//);
    }
    // 64 levels are read (the schema then refuses what they hold).
    const ok = await call('PUT', '/config', { raw: `{"services":${'['.repeat(63)}${']'.repeat(63)}}` });
    assert.doesNotMatch(ok.body.message ?? '', /nested deeper/);
    assert.equal(control.current().version, 1);
  }));

test('malformed JSON gets 400 naming the problem', () =>
  withAdmin(async (call) => {
    const res = await call('PUT', '/config', { raw: '{"services": [' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'GW_ERR_BAD_REQUEST');
    assert.match(res.body.message, /malformed JSON/);
  }));

test('a body that is not JSON gets 415, text/plain included', () =>
  withAdmin(async (call, control) => {
    for (const type of ['text/yaml', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await call('PUT', '/config', { raw: 'services: []', headers: { 'content-type': type } });
      assert.equal(res.status, 415, type);
      assert.equal(res.body.code, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE', type);
      assert.match(res.body.message, new RegExp(`Content-Type "${type}" is not accepted`));
    }
    assert.equal(control.current().version, 1);
  }));

test('a known path asked with a method it does not take gets 405 with Allow; an unknown path 404', () =>
  withAdmin(async (call) => {
    const post = await call('POST', '/services/api', { json: { routes: [] } });
    assert.equal(post.status, 405);
    assert.equal(post.body.code, 'GW_ERR_METHOD_NOT_ALLOWED');
    assert.equal(post.headers.get('allow'), 'DELETE, GET, HEAD, PUT');
    assert.match(post.body.message, /POST is not allowed on \/services\/api/);
    const config = await call('DELETE', '/config');
    assert.equal(config.status, 405);
    assert.equal(config.headers.get('allow'), 'GET, HEAD, PUT');
    assert.equal((await call('GET', '/services/api/extra')).status, 404);
    assert.equal((await call('GET', '/nothing')).body.code, 'GW_ERR_NOT_FOUND');
  }));

test('a body over 8 MiB gets 413 naming the limit; one under it is read', () =>
  withAdmin(async (call) => {
    const res = await call('PUT', '/config', { json: { services: [], pad: 'x'.repeat(8 * 1024 * 1024) } });
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'GW_ERR_BODY_TOO_LARGE');
    assert.equal(res.body.message, 'request body exceeds 8388608 bytes (admin.max_body_bytes)');
    // Read whole and handed to the control plane (this test's stand-in takes any config).
    const under = await call('PUT', '/config', { json: { services: [], pad: 'x'.repeat(7 * 1024 * 1024) } });
    assert.equal(under.status, 200);
  }));

test('admin.max_body_bytes sets the limit', async () => {
  const admin = await startAdmin({
    host: '127.0.0.1',
    port: 0,
    control: new MemoryControlPlane({ services: [] }),
    maxBodyBytes: 2048,
  });
  try {
    const put = (n: number) =>
      fetch(`http://127.0.0.1:${admin.port}/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ services: [], pad: 'x'.repeat(n) }),
      });
    const big = await put(3000);
    assert.equal(big.status, 413);
    assert.match(((await big.json()) as { message: string }).message, /exceeds 2048 bytes/);
    assert.notEqual((await put(1000)).status, 413);
  } finally {
    await admin.close();
  }
});

test("errors carry the client's X-Request-Id, or a generated one", () =>
  withAdmin(async (call) => {
    const given = await call('GET', '/services/nope', { headers: { 'x-request-id': 'req-123' } });
    assert.equal(given.body.request_id, 'req-123');
    assert.equal(given.headers.get('x-request-id'), 'req-123');
    const generated = await call('GET', '/services/nope', { headers: { 'x-request-id': 'bad id\twith tab' } });
    assert.match(generated.body.request_id, /^[0-9a-f-]{36}$/);
  }));

test('CONNECT gets a JSON 501 and the connection closes, as on the proxy listener', async () => {
  const admin = await startAdmin({ host: '127.0.0.1', port: 0, control: new MemoryControlPlane({ services: [] }) });
  try {
    const res = await rawRequest(
      admin.port,
      'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nX-Request-Id: admin-connect\r\n\r\n',
    );
    assert.ok(res.closed, 'the connection stayed open');
    assert.equal(res.status, 501, res.text);
    assert.match(res.text, /\r\nx-request-id: admin-connect\r\n/i);
    assert.equal(JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)).code, 'GW_ERR_METHOD_NOT_SUPPORTED');
  } finally {
    await admin.close();
  }
});

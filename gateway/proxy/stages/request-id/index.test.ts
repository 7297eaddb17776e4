import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptRequestId, validHost } from './index.ts';

test('a short, plain client request id is kept; anything else gets a fresh UUID', () => {
  assert.equal(acceptRequestId('req-42.a:b@c+d=e/f'), 'req-42.a:b@c+d=e/f');
  for (const bad of [undefined, '', 'has space', 'x'.repeat(129), 'new\nline', ['a', 'b'], 'ünïcode']) {
    const id = acceptRequestId(bad as string | string[] | undefined);
    assert.match(
      id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      `${JSON.stringify(bad)} → ${id}`,
    );
  }
  assert.notEqual(acceptRequestId(undefined), acceptRequestId(undefined), 'each generated id is new');
});

test(
  'Host takes a name, an IPv4 or a bracketed IPv6 ' + 'address with an optional port, and nothing that ends a path',
  () => {
    for (const ok of [
      'api.example.com',
      'api.example.com.',
      'localhost:8080',
      '10.0.0.1',
      '[::1]:443',
      'a_b-c.example',
      '',
    ])
      assert.ok(validHost(ok), ok);
    for (const bad of ['api..example.com', '.example.com', 'a/b', 'a?b', 'a#b', '%61pi.example.com', 'a b', 'a\\b'])
      assert.ok(!validHost(bad), bad);
  },
);

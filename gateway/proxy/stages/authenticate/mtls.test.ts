import assert from 'node:assert/strict';
import { test } from 'node:test';
import { subjectAltNameOf } from './mtls.ts';

test('the first subjectAltName of a kind, read from Node’s rendering, a quoted one whole', () => {
  const rendered = 'DNS:cart.internal, URI:spiffe://cluster.local/ns/shop/sa/cart, URI:https://second';
  assert.equal(subjectAltNameOf(rendered, 'URI:'), 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.equal(subjectAltNameOf(rendered, 'DNS:'), 'cart.internal');
  assert.equal(subjectAltNameOf(rendered, 'email:'), undefined);
  // Node quotes a name that holds a separator (CVE-2021-44532); the comma inside is not a split.
  assert.equal(subjectAltNameOf('URI:"spiffe://td/a, b", email:ops@example.test', 'URI:'), 'spiffe://td/a, b');
  assert.equal(subjectAltNameOf('URI:"spiffe://td/a, b", email:ops@example.test', 'email:'), 'ops@example.test');
  assert.equal(subjectAltNameOf('URI:"broken', 'URI:'), undefined);
});

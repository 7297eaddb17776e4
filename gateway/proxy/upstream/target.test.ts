import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Target } from './target.ts';
import { validateConfig } from '../../control/config/load.ts';

test(
  "a static target is sent its origin's host and port as Host; an " +
    "https one has its origin's host as TLS name, whatever Host goes",
  () => {
    const t = new Target('https://api.internal:8443');
    assert.equal(t.host, 'api.internal:8443');
    assert.equal(t.servername, 'api.internal');
    assert.equal(t.hostname, undefined);
    // An address too (the connector keeps it out of SNI): left undefined, undici would take the client's Host under
    // preserve_host.
    assert.equal(new Target('https://10.0.0.7:8443').servername, '10.0.0.7');
    assert.equal(new Target('https://[::1]:8443').servername, '::1');
    assert.equal(new Target('http://api.internal:8080').servername, undefined);
    assert.equal(new Target('http://127.0.0.1:80').host, '127.0.0.1');
  },
);

test(
  'a target found by name is sent that name as Host, with ' +
    "the port unless it is the scheme's default, and as TLS name",
  () => {
    const t = new Target('https://10.0.0.7:8443', 1, 'api.internal');
    assert.equal(t.id, 'https://10.0.0.7:8443');
    assert.equal(t.host, 'api.internal:8443');
    assert.equal(t.servername, 'api.internal');
    assert.equal(new Target('https://10.0.0.7:443', 1, 'api.internal').host, 'api.internal');
    assert.equal(new Target('http://[::1]:80', 1, 'api.internal').host, 'api.internal');
    assert.equal(new Target('http://[::1]:8080', 1, 'api.internal').host, 'api.internal:8080');
  },
);

test(
  "the upstream's tls.server_name is the TLS name of every " +
    'https target, static or found by name; an http target has none',
  () => {
    assert.equal(new Target('https://10.0.0.7:8443', 1, undefined, 'api.internal').servername, 'api.internal');
    const found = new Target('https://10.0.0.7:8443', 1, 'svc.consul', 'api.internal');
    assert.equal(found.servername, 'api.internal');
    assert.equal(found.host, 'svc.consul:8443', 'the Host stays the name the target was found by');
    assert.equal(new Target('http://10.0.0.7:8080', 1, undefined, 'api.internal').servername, undefined);
  },
);

test('a target on port 0, or with credentials in its URL, is refused naming the field', () => {
  const targets = ['http://127.0.0.1:0', 'http://user:secret@127.0.0.1:1', 'https://[::1]:0', 'http://127.0.0.1:2'];
  const r = validateConfig(
    { services: [{ name: 'a', routes: [{ paths: ['/'] }], upstream: { targets: targets.map((url) => ({ url })) } }] },
    {},
  );
  assert.equal(r.ok, false);
  const errors = r.ok ? [] : r.errors;
  assert.deepEqual(
    errors.map((e) => e.path),
    ['/services/0/upstream/targets/0/url', '/services/0/upstream/targets/1/url', '/services/0/upstream/targets/2/url'],
  );
  assert.match(errors[1].message, /credentials in a target URL are not sent upstream/);
});

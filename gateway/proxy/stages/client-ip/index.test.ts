import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';
import { compileCidrs } from '../../net/cidr.ts';
import { resolveClientIp } from './index.ts';

test('trusted_proxies defaults to [] and takes CIDRs and addresses, IPv4 and IPv6', () => {
  const r = validateConfig({}, {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.trusted_proxies, []);
  assert.ok(validateConfig({ trusted_proxies: ['10.0.0.0/8', '::1', '2001:db8::/32', '::ffff:192.0.2.0/120'] }, {}).ok);
  const bad = validateConfig({ trusted_proxies: ['10.0.0.0/8', 'proxy.local'] }, {});
  assert.ok(!bad.ok && bad.errors.some((e) => e.path === '/trusted_proxies/1'));
});

test('X-Forwarded-For is walked right to left past trusted hops, like nginx real_ip_recursive', () => {
  const trusted = compileCidrs(['10.0.0.0/8', '::1']);
  assert.equal(resolveClientIp('10.0.0.1', '203.0.113.5', trusted), '203.0.113.5');
  assert.equal(resolveClientIp('10.0.0.1', '198.51.100.9, 203.0.113.5, 10.1.1.1', trusted), '203.0.113.5');
  assert.equal(resolveClientIp('10.0.0.1', '10.2.2.2,10.1.1.1', trusted), '10.2.2.2', 'all trusted: the leftmost');
  assert.equal(resolveClientIp('::1', '2001:db8::7', trusted), '2001:db8::7');
  assert.equal(
    resolveClientIp('10.0.0.1', '::ffff:203.0.113.5', trusted),
    '203.0.113.5',
    'mapped entries are unmapped',
  );
  assert.equal(
    resolveClientIp('10.0.0.1', ' 203.0.113.5 ,\t10.1.1.1 ', trusted),
    '203.0.113.5',
    'spaces and tabs around entries',
  );
  assert.equal(
    resolveClientIp('10.0.0.1', '2001:0DB8:0:0:0:0:0:07', trusted),
    '2001:db8::7',
    'an IPv6 entry in its one spelling, so lists, limits and reports see one client',
  );
  assert.equal(resolveClientIp('10.0.0.1', '::FFFF:CB00:7105', trusted), '203.0.113.5', 'mapped, in hex');
});

test("an untrusted peer's header changes nothing; a malformed entry on the walk keeps the socket address", () => {
  const trusted = compileCidrs(['10.0.0.0/8']);
  assert.equal(resolveClientIp('203.0.113.5', '10.9.9.9', trusted), '203.0.113.5');
  for (const bad of ['', ',', 'x', '10.1.1.1:8080', '[::1]', '1.2.3.4, 10.1.1.1 extra', 'unknown, 10.1.1.1']) {
    assert.equal(resolveClientIp('10.0.0.1', bad, trusted), '10.0.0.1', JSON.stringify(bad));
  }
  assert.equal(
    resolveClientIp('10.0.0.1', 'garbage, 203.0.113.5', trusted),
    '203.0.113.5',
    'left of the client is never read',
  );
  assert.equal(resolveClientIp('10.0.0.1', 'a'.repeat(100000), trusted), '10.0.0.1');
});

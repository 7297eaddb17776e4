import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SocketAddress } from 'node:net';
import { canonicalIp, clientKey } from './ip.ts';

/**
 * Eight 16-bit groups as IPv6 text: in full or with `::` for the longest run of zeros, lower or upper case, with
 * leading zeros or not.
 */
function v6(groups: number[], compress: boolean, upper: boolean, padded = false): string {
  let text = groups.map((g) => (padded ? g.toString(16).padStart(4, '0') : g.toString(16))).join(':');
  if (compress) {
    const zeros = text.match(/(^|:)0+(:0+)+(:|$)/g);
    const longest = zeros?.sort((a, b) => b.length - a.length)[0];
    if (longest !== undefined) text = text.replace(longest, '::');
  }
  return upper ? text.toUpperCase() : text;
}

const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
/** An IPv4-mapped address (::ffff:a.b.c.d), which counts as its IPv4 address whatever the prefix. */
const isMapped = (g: number[]) => g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
/** The first `bits` bits of two group lists are the same. */
function samePrefix(a: number[], b: number[], bits: number): boolean {
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - 16 * i));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

test('two IPv6 addresses have one key exactly when their first ipv6_prefix bits agree, however written', () => {
  fc.assert(
    fc.property(
      groups.filter((g) => !isMapped(g)),
      groups,
      fc.integer({ min: 1, max: 127 }),
      fc.integer({ min: 0, max: 8 }),
      fc.boolean(),
      fc.boolean(),
      (a, noise, bits, keepGroups, compress, upper) => {
        // b shares a's first `keepGroups` groups, so both outcomes come up often.
        const b = a.map((g, i) => (i < keepGroups ? g : noise[i]!));
        if (isMapped(b)) return;
        const ka = clientKey(v6(a, compress, upper), bits);
        const kb = clientKey(v6(b, !compress, !upper), bits);
        assert.equal(ka === kb, samePrefix(a, b, bits), `${ka} ${kb}`);
        assert.ok(ka.endsWith(`/${bits}`));
      },
    ),
    { numRuns: 2000 },
  );
});

test('IPv4, IPv4-mapped and unparsable addresses are their own keys; 128 keeps every address as it is', () => {
  assert.equal(clientKey('203.0.113.9', 64), '203.0.113.9');
  assert.equal(clientKey('::ffff:203.0.113.9', 64), '203.0.113.9', 'mapped: the IPv4 address, not ::ffff:0:0/64');
  assert.equal(clientKey('not:an:address', 64), 'not:an:address');
  assert.equal(clientKey('', 64), '');
  assert.equal(clientKey('2001:db8::7', 128), '2001:db8::7');
  assert.equal(clientKey('2001:db8:1:2:aaaa::1', 64), '2001:db8:1:2:0:0:0:0/64');
  assert.equal(clientKey('2001:db8:abcd:12ff::1', 56), '2001:db8:abcd:1200:0:0:0:0/56');
  assert.equal(clientKey('fe80::1%eth0', 64), 'fe80:0:0:0:0:0:0:0/64', 'the zone left out');
});

test('an IPv6 address however written comes out as Node writes a socket address (RFC 5952)', () => {
  fc.assert(
    fc.property(
      // Zeros are common in real addresses; the first 96 bits all zero (::a.b.c.d to Node) and mapped ones aside.
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      (g, compress, upper, padded) => {
        if (g.slice(0, 6).every((x) => x === 0) || isMapped(g)) return;
        const text = v6(g, compress, upper, padded);
        assert.equal(canonicalIp(text), new SocketAddress({ address: text, family: 'ipv6' }).address, text);
      },
    ),
    { numRuns: 3000 },
  );
  assert.equal(canonicalIp('::FFFF:0102:0304'), '1.2.3.4', 'mapped: the IPv4 address');
  assert.equal(canonicalIp('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(canonicalIp('198.51.100.7'), '198.51.100.7');
  assert.equal(canonicalIp('not-an-address'), 'not-an-address');
});

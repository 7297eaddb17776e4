import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import { cidrErrors, compileCidrs, parseCidr } from './cidr.ts';
import { isIp, unmapIp } from './ip.ts';

test('IPv4 blocks and single addresses match their members and nothing else', () => {
  const m = compileCidrs(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12', '0.0.0.0/32']);
  for (const ip of ['10.0.0.0', '10.255.255.255', '192.168.1.7', '172.31.9.9', '0.0.0.0'])
    assert.ok(m.contains(ip), ip);
  for (const ip of ['11.0.0.0', '9.255.255.255', '192.168.1.8', '172.32.0.0', '255.255.255.255'])
    assert.ok(!m.contains(ip), ip);
});

test('an IPv4-mapped IPv6 address is matched as IPv4, and a ::ffff: block as an IPv4 block', () => {
  const m = compileCidrs(['10.0.0.0/8', '::ffff:192.0.2.0/120']);
  assert.ok(m.contains('::ffff:10.1.2.3'));
  assert.ok(m.contains('::FFFF:10.1.2.3'));
  assert.ok(m.contains('0:0:0:0:0:ffff:a01:203'), 'mapped address in hex groups');
  assert.ok(m.contains('192.0.2.200'));
  assert.ok(!m.contains('192.0.3.1'));
  assert.ok(!m.contains('::ffff:11.0.0.1'));
});

test('IPv6 blocks match by prefix, across word boundaries, with a zone suffix ignored', () => {
  const m = compileCidrs(['2001:db8::/32', '::1', 'fe80::/10', '2001:db8:abcd:12::/63']);
  assert.ok(m.contains('2001:db8::1'));
  assert.ok(m.contains('2001:DB8:ffff::'));
  assert.ok(m.contains('::1'));
  assert.ok(m.contains('0:0:0:0:0:0:0:1'));
  assert.ok(m.contains('fe80::1%eth0'));
  assert.ok(m.contains('febf::1'));
  assert.ok(!m.contains('fec0::1'));
  assert.ok(!m.contains('2001:db9::1'));
  assert.ok(!m.contains('::2'));
  const n = compileCidrs(['2001:db8:abcd:12::/63']);
  assert.ok(n.contains('2001:db8:abcd:13::5'));
  assert.ok(!n.contains('2001:db8:abcd:14::5'));
});

test('overlapping and adjacent IPv4 blocks merge without losing members', () => {
  const m = compileCidrs(['10.0.0.0/24', '10.0.1.0/24', '10.0.0.128/25', '10.0.3.0/24']);
  assert.ok(m.contains('10.0.1.255'));
  assert.ok(!m.contains('10.0.2.0'));
  assert.ok(m.contains('10.0.3.0'));
  assert.ok(compileCidrs(['0.0.0.0/0']).contains('255.255.255.255'));
  assert.ok(compileCidrs(['::/0']).contains('2001::1'));
});

test('garbage addresses are never contained, never throw', () => {
  const m = compileCidrs(['0.0.0.0/0', '::/0']);
  for (const bad of [
    '',
    'x',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '256.1.1.1',
    '1.2.3.4 ',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    '1.2.3.4:80',
    '[::1]',
    'unknown',
  ]) {
    assert.equal(m.contains(bad), false, JSON.stringify(bad));
  }
});

test('our parser agrees with node:net on which strings are addresses', () => {
  const samples = [
    '1.2.3.4',
    '::',
    '::1',
    '1::',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:1.2.3.4',
    '::ffff:1.2.3.4',
    '1::1.2.3.4',
    'a:b::c:d',
    '1:2:3:4:5:6:7:8:9',
    ':1::',
    '1:',
    ':1',
    '1:::2',
    '00000::',
    'g::',
    '1.2.3.04',
    '300.1.1.1',
  ];
  for (const s of samples) assert.equal(isIp(s, 0, s.length), isIP(s) !== 0, s);
});

test('unmapIp strips only the IPv4-mapped prefix', () => {
  assert.equal(unmapIp('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(unmapIp('1.2.3.4'), '1.2.3.4');
  assert.equal(unmapIp('::1'), '::1');
  assert.equal(unmapIp('64:ff9b::1.2.3.4'), '64:ff9b::1.2.3.4');
});

test('invalid entries are reported with their index and a reason', () => {
  assert.deepEqual(
    cidrErrors(['10.0.0.0/8', '10.0.0.0/33', 'nope', '::1/129', '1.2.3.4/x']).map((e) => e.index),
    [1, 2, 3, 4],
  );
  assert.match(String(parseCidr('10.0.0.0/33')), /at most \/32/);
  assert.throws(() => compileCidrs(['bad']), /not an IPv4/);
});

test('agrees with node:net BlockList on random addresses', () => {
  const list = ['10.0.0.0/8', '192.168.0.0/16', '100.64.0.0/10', '203.0.113.9', '2001:db8::/32', 'fd00::/8'];
  const m = compileCidrs(list);
  const bl = new BlockList();
  for (const c of list) {
    const [a, b] = c.split('/');
    const family = a.includes(':') ? 'ipv6' : 'ipv4';
    if (b) bl.addSubnet(a, Number(b), family);
    else bl.addAddress(a, family);
  }
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
  for (let i = 0; i < 5000; i++) {
    const v4 = [rnd() % 256, rnd() % 256, rnd() % 256, rnd() % 256];
    if (i % 3 === 0) v4[0] = [10, 192, 100, 203][i % 4];
    const ip = v4.join('.');
    assert.equal(m.contains(ip), bl.check(ip, 'ipv4'), ip);
    const ip6 = `${['2001:db8', 'fd12', '2001:db9', 'fe80'][i % 4]}::${(rnd() % 65536).toString(16)}`;
    assert.equal(m.contains(ip6), bl.check(ip6, 'ipv6'), ip6);
  }
});

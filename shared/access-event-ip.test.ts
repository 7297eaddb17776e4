import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv4, formatIpv6, ipv4ToBytes, ipv6ToBytes } from './access-event-ip.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('canonical dotted IPv4 packs to its 4 bytes and prints back the same', () => {
  const out = new Uint8Array(4);
  for (const [text, bytes] of [
    ['203.0.113.7', 'cb007107'],
    ['0.0.0.0', '00000000'],
    ['255.255.255.255', 'ffffffff'],
  ]) {
    assert.ok(ipv4ToBytes(text, out, 0), text);
    assert.equal(hex(out), bytes);
    assert.equal(formatIpv4(out, 0), text);
  }
});

test('IPv4 text that would not print back the same is refused', () => {
  const out = new Uint8Array(4);
  for (const text of [
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '1.2.3.4 ',
    'a.b.c.d',
    '1.2.3.1000',
    '',
  ]) {
    assert.equal(ipv4ToBytes(text, out, 0), false, text);
  }
});

test('RFC 5952 IPv6 text packs to its 16 bytes and prints back the same', () => {
  const out = new Uint8Array(16);
  const cases = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:db8:0:1::1', '20010db8000000010000000000000001'],
    ['2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    ['1:0:3:4:5:6:7:8', '00010000000300040005000600070008'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'f'.repeat(32)],
    ['::ffff:102:304', undefined], // IPv4-mapped prints dotted, so this spelling is not canonical
  ] as const;
  for (const [text, bytes] of cases) {
    assert.equal(ipv6ToBytes(text, out, 0), bytes !== undefined, text);
    if (bytes === undefined) continue;
    assert.equal(hex(out), bytes, text);
    assert.equal(formatIpv6(out, 0), text);
  }
  assert.equal(formatIpv6(Buffer.from('00000000000000000000ffffcb007107', 'hex'), 0), '::ffff:203.0.113.7');
});

test('IPv6 text that is not canonical is refused', () => {
  const out = new Uint8Array(16);
  const texts = [
    '2001:DB8::1',
    '2001:0db8::1',
    '2001:db8:0:0:0:0:0:1',
    '0::1',
    '2001:db8::0:1',
    '1:0:3:4:5:6:7::',
    '1::3:4:5:6:7:8',
    '2001:db8::1::1',
    'fe80::1%eth0',
    '::1.2.3.4',
    '::ffff:1.2.3.4',
    ':1::',
    '1::2:',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    ':',
    '',
    '2001:db8:0:0:1:0:0:1', // the first of two equal zero runs is the one to shorten
  ];
  for (const text of texts) assert.equal(ipv6ToBytes(text, out, 0), false, text);
});

test('whatever 16 bytes are, their printed text packs back to the same bytes', () => {
  let seed = 1;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  const bytes = new Uint8Array(16);
  const back = new Uint8Array(16);
  for (let i = 0; i < 20_000; i++) {
    // Mostly zero words, so runs of every length and position come up.
    for (let w = 0; w < 8; w++) {
      const word = next() % 3 === 0 ? next() : 0;
      bytes[2 * w] = word >>> 8;
      bytes[2 * w + 1] = word & 0xff;
    }
    if (i % 10 === 0) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    const text = formatIpv6(bytes, 0);
    const mapped = text.startsWith('::ffff:') && text.includes('.');
    assert.equal(ipv6ToBytes(text, back, 0), !mapped, text);
    if (!mapped) assert.equal(hex(back), hex(bytes), text);
  }
});

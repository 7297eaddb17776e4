import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalIp } from './ip.ts';
import { headerV1, headerV2, parseHeader } from './proxy-protocol.ts';

const endpoints = (sourceIp: string, destIp: string) => ({ sourceIp, sourcePort: 51234, destIp, destPort: 6379 });

test('v1 headers are the text of the spec, TCP4, TCP6 or UNKNOWN when the families differ', () => {
  assert.equal(
    headerV1(endpoints('192.0.2.1', '127.0.0.1')).toString(),
    'PROXY TCP4 192.0.2.1 127.0.0.1 51234 6379\r\n',
  );
  assert.equal(headerV1(endpoints('::ffff:192.0.2.1', '127.0.0.1')).toString().split(' ')[1], 'TCP4');
  assert.equal(headerV1(endpoints('2001:db8::1', '::1')).toString(), 'PROXY TCP6 2001:db8::1 ::1 51234 6379\r\n');
  assert.equal(headerV1(endpoints('2001:db8::1', '127.0.0.1')).toString(), 'PROXY UNKNOWN\r\n');
});

test('v2 headers carry the signature, PROXY over TCP4 or TCP6, and the addresses', () => {
  const v4 = headerV2(endpoints('192.0.2.1', '127.0.0.1'));
  assert.equal(v4.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
  assert.equal(v4.subarray(12, 16).toString('hex'), '2111000c');
  assert.equal(v4.subarray(16).toString('hex'), 'c0000201' + '7f000001' + 'c822' + '18eb');
  const mixed = headerV2(endpoints('2001:db8::1', '127.0.0.1'));
  assert.equal(mixed.subarray(12).toString('hex'), '20000000', 'LOCAL, unspecified, no addresses');
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
// An IPv4-mapped source is sent as IPv4 (the header names the client as it is), which needs an IPv4 destination.
const ipv6 = fc.ipV6().filter((ip) => !ip.toLowerCase().startsWith('::ffff:'));
const port = fc.integer({ min: 0, max: 65535 });

test('what either version writes, parsing reads back: the source address and port, and the header length', () => {
  fc.assert(
    fc.property(fc.oneof(fc.tuple(ipv4, ipv4), fc.tuple(ipv6, ipv6)), port, fc.boolean(), ([src, dst], p, v2) => {
      const header = (v2 ? headerV2 : headerV1)({ sourceIp: src, sourcePort: p, destIp: dst, destPort: 443 });
      const parsed = parseHeader(Buffer.concat([header, Buffer.from('payload')]));
      assert.equal(parsed.kind, 'header');
      if (parsed.kind !== 'header') return;
      assert.equal(parsed.bytes, header.length);
      assert.equal(parsed.source?.port, p);
      // The same address, however it is spelled (IPv6 has many spellings).
      const norm = (ip: string) => new URL(`http://[${ip}]/`).hostname;
      if (src.includes(':')) assert.equal(norm(parsed.source!.ip), norm(src));
      else assert.equal(parsed.source?.ip, src);
      // ... and in its one spelling, whichever the balancer wrote, so lists, limits and events see one client.
      assert.equal(parsed.source?.ip, canonicalIp(src));
      // Every shorter prefix is incomplete, never invalid.
      for (let n = 0; n < header.length; n++) assert.equal(parseHeader(header.subarray(0, n)).kind, 'incomplete');
    }),
  );
});

test('an IPv4-mapped source in an IPv6 header is its IPv4 client, as a dual-stack socket would give it', () => {
  const v6 = (groups: number[]) => Buffer.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
  const v2 = Buffer.concat([
    headerV2({ sourceIp: '2001:db8::1', sourcePort: 1, destIp: '::1', destPort: 2 }).subarray(0, 16),
    v6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0207]),
    v6([0, 0, 0, 0, 0, 0, 0, 1]),
    Buffer.from([0, 1, 0, 2]),
  ]);
  for (const header of [v2, Buffer.from('PROXY TCP6 ::FFFF:C000:0207 ::1 1 2\r\n')]) {
    const parsed = parseHeader(header);
    assert.equal(parsed.kind === 'header' && parsed.source?.ip, '192.0.2.7');
  }
});

test('malformed headers are invalid, with why; LOCAL and UNKNOWN name no client', () => {
  const invalid = (text: string | Buffer) => {
    const r = parseHeader(Buffer.isBuffer(text) ? text : Buffer.from(text));
    return r.kind === 'invalid' ? r.why : r.kind;
  };
  assert.equal(invalid('GET / HTTP/1.1\r\n'), 'no PROXY protocol header');
  assert.equal(invalid('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), 'v1 header has the wrong number of fields');
  assert.equal(invalid('PROXY TCP4 ::1 5.6.7.8 1 2\r\n'), 'v1 addresses are not TCP4');
  assert.equal(invalid('PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n'), 'v1 ports must be 0-65535');
  assert.equal(invalid('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'v1 family "UDP4" is not TCP4, TCP6 or UNKNOWN');
  assert.equal(invalid(`PROXY TCP4 ${'1'.repeat(120)}`), 'v1 header longer than 107 bytes');
  const v2 = headerV2(endpoints('192.0.2.1', '127.0.0.1'));
  assert.equal(
    invalid(Buffer.concat([v2.subarray(0, 12), Buffer.from([0x31, 0x11, 0, 12])])),
    'v2 header of version 3',
  );
  assert.equal(
    invalid(Buffer.concat([v2.subarray(0, 12), Buffer.from([0x21, 0x11, 0xff, 0xff])])),
    'v2 header of 65551 bytes is over 2064',
  );
  assert.deepEqual(parseHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'header', bytes: 15, source: undefined });
  const local = Buffer.concat([v2.subarray(0, 12), Buffer.from([0x20, 0x00, 0, 0])]);
  assert.deepEqual(parseHeader(local), { kind: 'header', bytes: 16, source: undefined });
});

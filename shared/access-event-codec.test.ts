import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CLASSES } from './access-event.ts';
import type { AccessEvent } from './access-event.ts';
import { decode, encode, EventDecodeError, FORMAT_VERSION, MAX_FIELD_BYTES } from './access-event-codec.ts';
import type { EventDecodeReason } from './access-event-codec.ts';

const typical: AccessEvent = {
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  startMs: 1700000000123,
  node: 'gw-1',
  appId: 'app_42',
  service: 'orders',
  route: 'orders.get',
  method: 'GET',
  status: 200,
  upstreamStatus: 200,
  totalUs: 12345,
  upstreamUs: 11000,
  gatewayUs: 1345,
  bytesIn: 0,
  bytesOut: 4821,
  clientIp: '::ffff:203.0.113.7',
  target: 'http://10.0.3.17:8080',
  errorClass: 'none',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
};

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertDecodeError(bytes: Uint8Array, reason: EventDecodeReason): void {
  assert.throws(
    () => decode(bytes),
    (err: unknown) => {
      assert.ok(err instanceof EventDecodeError, `expected EventDecodeError, got ${String(err)}`);
      assert.equal(err.reason, reason, err.message);
      return true;
    },
  );
}

const roundTrip = (e: AccessEvent) => assert.deepEqual(decode(encode(e)), e);

test('a typical event round-trips and stays well under 200 bytes', () => {
  roundTrip(typical);
  assert.ok(encode(typical).length <= 200, `${encode(typical).length} bytes`);
});

test('names aside, an event with an IPv6 client, a trace id and 30 s latency costs at most 84 bytes', () => {
  // So any event whose node, app, service, route, method and target add up to
  // 116 ASCII characters or less stays within the 200-byte budget.
  const e = {
    ...typical,
    node: '',
    appId: '',
    service: '',
    route: '',
    method: '',
    target: '',
    clientIp: '2001:db8:85a3::8a2e:370:7334',
    totalUs: 30_000_950,
    upstreamUs: 30_000_000,
    bytesIn: 65_536,
    bytesOut: 1_048_576,
  };
  roundTrip(e);
  assert.ok(encode(e).length <= 84, `${encode(e).length} bytes`);
});

test('edge events round-trip: empty strings, zeros, the largest safe integers, unicode, strings at the cap', () => {
  const max = Number.MAX_SAFE_INTEGER;
  roundTrip({
    ...typical,
    id: '',
    node: '',
    appId: '',
    service: '',
    route: '',
    method: '',
    clientIp: '',
    target: '',
    traceId: '',
  });
  roundTrip({
    ...typical,
    startMs: 0,
    status: 0,
    upstreamStatus: 0,
    totalUs: 0,
    upstreamUs: 0,
    gatewayUs: 0,
    bytesIn: 0,
    bytesOut: 0,
  });
  roundTrip({
    ...typical,
    startMs: max,
    status: max,
    upstreamStatus: max,
    totalUs: max,
    upstreamUs: max,
    gatewayUs: max,
    bytesIn: max,
    bytesOut: max,
  });
  for (const v of [127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 49 - 1, 2 ** 49])
    roundTrip({ ...typical, bytesOut: v });
  roundTrip({
    ...typical,
    service: 'заказы',
    route: '注文.取得',
    appId: 'café',
    node: '🚀-gw',
    target: 'http://bücher.example:80',
  });
  roundTrip({
    ...typical,
    service: 'x'.repeat(MAX_FIELD_BYTES),
    route: 'é'.repeat(MAX_FIELD_BYTES / 2),
    traceId: '🚀'.repeat(MAX_FIELD_BYTES / 4),
  });
});

test('client IPs round-trip in every form, packed or as text', () => {
  const ips = [
    '203.0.113.7',
    '0.0.0.0',
    '255.255.255.255',
    '::ffff:203.0.113.7',
    '::ffff:0.0.0.0',
    '::1',
    '::',
    '2001:db8::1',
    'fe80::1:2:3:4',
    '1:2:3:4:5:6:7:8',
    '2001:db8:0:0:1:0:0:1',
    '2001:db8::1:0:0:1',
    '::ffff:102:304',
    // Not canonical, so carried as text, still exactly:
    '2001:DB8::1',
    '2001:0db8::1',
    'fe80::1%eth0',
    '::1.2.3.4',
    '01.2.3.4',
    '::FFFF:1.2.3.4',
    'unknown',
    '1.2.3.4:5678',
  ];
  for (const clientIp of ips) roundTrip({ ...typical, clientIp });
});

test('an IPv4 client packs to 4 bytes and an IPv6 client to 16', () => {
  const size = (clientIp: string) => encode({ ...typical, clientIp }).length;
  const base = size('');
  assert.equal(size('203.0.113.7') - base, 4 - 1);
  assert.equal(size('::ffff:203.0.113.7') - base, 4 - 1);
  assert.equal(size('2001:db8:85a3::8a2e:370:7334') - base, 16 - 1);
});

test('ids and trace ids pack to 16 bytes only when canonical lowercase hex, and round-trip either way', () => {
  const size = (e: Partial<AccessEvent>) => encode({ ...typical, ...e }).length;
  assert.equal(size({ id: '' }) - size({}), 1 - 16);
  assert.equal(size({ traceId: '' }) - size({}), 1 - 16);
  for (const id of [typical.id.toUpperCase(), 'req-1', typical.id.replaceAll('-', '')]) roundTrip({ ...typical, id });
  for (const traceId of [typical.traceId.toUpperCase(), 'abc', `${typical.traceId}0`])
    roundTrip({ ...typical, traceId });
});

test('every error class round-trips', () => {
  for (const errorClass of ERROR_CLASSES) roundTrip({ ...typical, errorClass });
});

test('random events round-trip, whatever their strings', () => {
  const random = seededRandom(7);
  const alphabet = ['a', 'Z', '0', '-', '.', ':', '/', 'é', 'ж', '注', '🚀', ' '];
  const text = () =>
    Array.from({ length: Math.floor(random() * 20) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  const int = () => Math.floor(random() * 2 ** Math.floor(random() * 53));
  for (let i = 0; i < 2000; i++) {
    roundTrip({
      id: text(),
      startMs: int(),
      node: text(),
      appId: text(),
      service: text(),
      route: text(),
      method: text(),
      status: int(),
      upstreamStatus: int(),
      totalUs: int(),
      upstreamUs: int(),
      gatewayUs: int(),
      bytesIn: int(),
      bytesOut: int(),
      clientIp: text(),
      target: text(),
      errorClass: ERROR_CLASSES[Math.floor(random() * ERROR_CLASSES.length)],
      traceId: text(),
    });
  }
});

// A change to these bytes is a format change: give it a new version byte instead.
test('fixed events encode to the committed v1 bytes', () => {
  const golden: [AccessEvent, string][] = [
    [
      typical,
      '010f01890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f' +
        '72646572730a6f72646572732e67657403474554c801c801b960f855c10a00d525cb0071071568' +
        '7474703a2f2f31302e302e332e31373a38303830004bf92f3577b34da6a3ce929d0e0e4736',
    ],
    [
      {
        ...typical,
        id: 'req-1',
        appId: '',
        service: 'café',
        route: '',
        method: 'POST',
        status: 429,
        upstreamStatus: 0,
        totalUs: 95,
        upstreamUs: 0,
        gatewayUs: 95,
        bytesIn: 17,
        bytesOut: 90,
        clientIp: '198.51.100.23',
        target: '',
        errorClass: 'rate_limited',
        traceId: '',
      },
      '0104057265712d31fbd095ffbc310467772d310005636166c3a90004504f5354ad03005f005f115ac6336417000900',
    ],
    [
      { ...typical, clientIp: '2001:db8::7', errorClass: 'internal', traceId: 'not-a-trace' },
      '010901890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f' +
        '72646572730a6f72646572732e67657403474554c801c801b960f855c10a00d52520010db80000' +
        '0000000000000000000715687474703a2f2f31302e302e332e31373a38303830100b6e6f742d61' +
        '2d7472616365',
    ],
  ];
  for (const [event, hex] of golden) {
    assert.equal(encode(event).toString('hex'), hex);
    assert.deepEqual(decode(Buffer.from(hex, 'hex')), event);
  }
});

test('encode refuses what could not be decoded back as sent, naming the field', () => {
  const refuse = (e: Partial<AccessEvent> | Record<string, unknown>, field: string) =>
    assert.throws(
      () => encode({ ...typical, ...e } as AccessEvent),
      (err: unknown) => err instanceof RangeError && err.message.startsWith(`${field}:`),
    );
  refuse({ totalUs: 12.5 }, 'totalUs');
  refuse({ status: -1 }, 'status');
  refuse({ bytesOut: Number.NaN }, 'bytesOut');
  refuse({ startMs: 2 ** 53 }, 'startMs');
  refuse({ route: 'r'.repeat(MAX_FIELD_BYTES + 1) }, 'route');
  refuse({ service: 'é'.repeat(MAX_FIELD_BYTES / 2 + 1) }, 'service');
  refuse({ node: 'gw-\ud800' }, 'node');
  refuse({ errorClass: 'teapot' }, 'errorClass');
  refuse({ appId: 42 }, 'appId');
});

test('decode accepts a Uint8Array view in the middle of a larger buffer', () => {
  const bytes = encode(typical);
  const big = new Uint8Array(bytes.length + 20).fill(0xee);
  big.set(bytes, 7);
  assert.deepEqual(decode(big.subarray(7, 7 + bytes.length)), typical);
});

test('decode throws empty for no bytes and unknown_version for any other first byte', () => {
  assertDecodeError(new Uint8Array(0), 'empty');
  for (const version of [0, 2, 0x7b, 0xff]) {
    const bytes = encode(typical);
    bytes[0] = version;
    assertDecodeError(bytes, 'unknown_version');
  }
  assert.equal(FORMAT_VERSION, 1);
});

test('decode throws truncated for every strict prefix of a record', () => {
  for (const e of [typical, { ...typical, id: 'req-1', clientIp: '2001:db8::7', traceId: '', service: 'заказы' }]) {
    const bytes = encode(e);
    for (let n = 1; n < bytes.length; n++) assertDecodeError(bytes.subarray(0, n), 'truncated');
  }
});

test(
  'decode throws invalid for trailing bytes, unknown ' + 'flags, unknown error classes, bad varints and bad strings',
  () => {
    const bytes = encode({ ...typical, id: '', traceId: '' });
    const withByte = (at: number, value: number) => {
      const b = Buffer.from(bytes);
      b[at] = value;
      return b;
    };
    assertDecodeError(Buffer.concat([bytes, Buffer.from([0])]), 'invalid');
    assertDecodeError(withByte(1, bytes[1] | 0x10), 'invalid');
    assertDecodeError(withByte(bytes.length - 2, ERROR_CLASSES.length), 'invalid');
    // Record: version, flags (all text), then the id string whose length we forge.
    const head = [FORMAT_VERSION, 0];
    assertDecodeError(Buffer.from([...head, 0x80, 0x00]), 'invalid'); // non-minimal varint
    // 9-byte varint
    assertDecodeError(Buffer.from([...head, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'invalid');
    // startMs = 2^53
    assertDecodeError(Buffer.from([...head, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]), 'invalid');
    assertDecodeError(Buffer.from([...head, 0x81, 0x20]), 'invalid'); // id claims 4097 bytes
    assertDecodeError(Buffer.from([...head, 0x02, 0xc3, 0x28]), 'invalid'); // id is not UTF-8
    assertDecodeError(Buffer.from([...head, 0x03, 0xed, 0xa0, 0x80]), 'invalid'); // an encoded surrogate is not UTF-8
  },
);

test('10k random byte strings and 10k corrupted records only ever throw EventDecodeError', () => {
  const random = seededRandom(20250601);
  const records = [typical, { ...typical, id: 'req-1', clientIp: '2001:db8::7', traceId: '', service: 'заказы' }].map(
    encode,
  );
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < 10_000; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 300));
    for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(random() * 256);
    if (bytes.length > 0 && random() < 0.7) bytes[0] = FORMAT_VERSION;
    inputs.push(bytes);
  }
  for (let i = 0; i < 10_000; i++) {
    const bytes = Buffer.from(records[i % records.length]);
    for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
      bytes[1 + Math.floor(random() * (bytes.length - 1))] = Math.floor(random() * 256);
    }
    inputs.push(bytes);
  }
  let decoded = 0;
  for (const bytes of inputs) {
    let event: AccessEvent;
    try {
      event = decode(bytes);
    } catch (err) {
      if (!(err instanceof EventDecodeError)) throw err;
      continue;
    }
    decoded++;
    // Whatever decodes is a valid event: it encodes again and comes back equal.
    assert.deepEqual(decode(encode(event)), event);
  }
  assert.ok(decoded > 0 && decoded < inputs.length, `decoded ${decoded} of ${inputs.length}`);
});

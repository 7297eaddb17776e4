import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CLASSES, PROTOCOLS } from './access-event.ts';
import type { AccessEvent } from './access-event.ts';
import { decode, encode, encodeFields, encodeTransient, MAX_FIELD_BYTES } from './access-event-codec.ts';
import { eventIdTimeMs } from './access-event-id.ts';
import { grpcCall, typical } from './access-event-codec.fixture.ts';
import { seededRandom } from '../test/helpers/seeded-random.ts';

const roundTrip = (e: AccessEvent) => assert.deepEqual(decode(encode(e)), e);

test('a typical event round-trips and stays well under 200 bytes', () => {
  roundTrip(typical);
  assert.ok(encode(typical).length <= 200, `${encode(typical).length} bytes`);
});

test('a gRPC call over TLS round-trips with its protocol, TLS version, status, method and message counts', () => {
  roundTrip(grpcCall);
  roundTrip({ ...grpcCall, protocol: 'h2', grpcStatus: 0, grpcMethod: '', messagesIn: 2 ** 53 - 1 });
  assert.ok(encode(grpcCall).length <= 200, `${encode(grpcCall).length} bytes`);
});

test('encode refuses an unknown protocol and a grpcStatus below -1, naming the field', () => {
  assert.throws(() => encode({ ...typical, protocol: 'spdy' as never }), /protocol: unknown value "spdy"/);
  assert.throws(() => encode({ ...typical, grpcStatus: -2 }), /grpcStatus: -2 is neither -1/);
  assert.throws(() => encode({ ...typical, grpcStatus: 1.5 }), /grpcStatus/);
  assert.throws(() => encode({ ...grpcCall, messagesOut: -1 }), /messagesOut: -1/);
});

test("encodeTransient gives encode's bytes as a view that the next encode overwrites", () => {
  const other = { ...typical, appId: 'someone-else', status: 503 };
  const view = encodeTransient(typical);
  assert.deepEqual(Buffer.from(view), encode(typical));
  const copy = Buffer.from(view);
  encodeTransient(other);
  assert.notDeepEqual(Buffer.from(view), copy, "the view is the codec's buffer, not a copy");
  assert.deepEqual(decode(encodeTransient(other)), other);
});

test('encodeFields without an id mints a new UUIDv7 into the record, each later than the last', () => {
  const t = typical;
  const fields = [
    t.startMs,
    t.node,
    t.appId,
    t.service,
    t.route,
    t.method,
    t.status,
    t.upstreamStatus,
    t.totalUs,
    t.upstreamUs,
    t.gatewayUs,
    t.bytesIn,
    t.bytesOut,
    t.clientIp,
    t.target,
    t.errorClass,
    t.traceId,
    t.protocol,
    t.tlsVersion,
    t.grpcStatus,
    t.grpcMethod,
    t.messagesIn,
    t.messagesOut,
    t.closeCode,
    t.closeReason,
    t.interim,
  ] as const;
  const before = Date.now();
  const first = decode(Buffer.from(encodeFields(undefined, ...fields)));
  const second = decode(Buffer.from(encodeFields(undefined, ...fields)));
  const { id, ...rest } = first;
  assert.deepEqual(rest, (({ id: _, ...r }) => r)(typical));
  const mintedMs = eventIdTimeMs(id);
  assert.ok(mintedMs !== undefined && mintedMs >= before && mintedMs <= Date.now(), `${id} is not a UUIDv7 of now`);
  assert.ok(second.id > first.id, `${second.id} after ${first.id}`);
  assert.deepEqual(decode(encodeFields(typical.id, ...fields)), typical);
});

test('names aside, an event with an IPv6 client, a trace id and 30 s latency costs at most 92 bytes', () => {
  // So any HTTP event whose node, app, service, route, method and target add up
  // to 108 ASCII characters or less stays within the 200-byte budget.
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
  assert.ok(encode(e).length <= 92, `${encode(e).length} bytes`);
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
      protocol: PROTOCOLS[Math.floor(random() * PROTOCOLS.length)],
      tlsVersion: text(),
      grpcStatus: int() - 1,
      grpcMethod: text(),
      messagesIn: int(),
      messagesOut: int(),
      closeCode: int(),
      closeReason: text(),
      interim: random() < 0.5,
    });
  }
});

// What v2 writers (before WebSocket and TCP counting) stored must keep decoding: no close code, never interim.
test('fixed v2 records decode', () => {
  const golden: [AccessEvent, string][] = [
    [
      typical,
      '020f01890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f' +
        '72646572730a6f72646572732e67657403474554c801c801b960f855c10a00d525cb0071071568' +
        '7474703a2f2f31302e302e332e31373a38303830004bf92f3577b34da6a3ce929d0e0e4736000000000000',
    ],
    [
      grpcCall,
      '020f01890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f' +
        '7264657273076772656574657204504f5354c801c801b960f855c10a00d525cb00710715687474' +
        '703a2f2f31302e302e332e31373a38303830004bf92f3577b34da6a3ce929d0e0e47360207544c' +
        '5376312e330f1c2f68656c6c6f776f726c642e477265657465722f53617948656c6c6f0301',
    ],
  ];
  for (const [event, hex] of golden) assert.deepEqual(decode(Buffer.from(hex, 'hex')), event);
});

// A change to these bytes is a format change: give it a new version byte instead.
test('fixed events encode to the committed v3 bytes', () => {
  const golden: [AccessEvent, string][] = [
    [
      typical,
      '030f01890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f72' +
        '646572730a6f72646572732e67657403474554c801c801b960f855c10a00d525cb007107156874' +
        '74703a2f2f31302e302e332e31373a38303830004bf92f3577b34da6a3ce929d0e0e4736000000' +
        '0000000000',
    ],
    [
      { ...typical, protocol: 'websocket', messagesIn: 12, messagesOut: 30, closeCode: 1001, closeReason: 'idle' },
      '030f01890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f72' +
        '646572730a6f72646572732e67657403474554c801c801b960f855c10a00d525cb007107156874' +
        '74703a2f2f31302e302e332e31373a38303830004bf92f3577b34da6a3ce929d0e0e4736030000' +
        '000c1ee9070469646c65',
    ],
    [
      { ...typical, protocol: 'tcp', status: 200, interim: true },
      '031f01890a5dac96774bbcceb302099a8057fbd095ffbc310467772d31066170705f3432066f72' +
        '646572730a6f72646572732e67657403474554c801c801b960f855c10a00d525cb007107156874' +
        '74703a2f2f31302e302e332e31373a38303830004bf92f3577b34da6a3ce929d0e0e4736040000' +
        '0000000000',
    ],
  ];
  for (const [event, hex] of golden) {
    assert.equal(encode(event).toString('hex'), hex);
    assert.deepEqual(decode(Buffer.from(hex, 'hex')), event);
  }
});

// What v1 writers (before protocols) stored must keep decoding: as plaintext HTTP/1.1, not gRPC.
test('fixed v1 records decode', () => {
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
  for (const [event, hex] of golden) assert.deepEqual(decode(Buffer.from(hex, 'hex')), event);
});

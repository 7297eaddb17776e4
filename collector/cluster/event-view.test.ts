import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, EventDecodeError } from '../../shared/access-event-codec.ts';
import { sampleEvent } from '../aggregate/sample-event.fixture.ts';
import { emptyView, readEvent } from './event-view.ts';
import { RAW_INSERT_TSV, rawRowTsv, tsvString } from './raw-rows.ts';
import { RawTsvBody } from './raw-tsv.ts';

const SOURCE = 'kafka:t:0';

// The fast path (raw id, ASCII) and the decode() fallback (a text id, non-ASCII).
const EVENTS = [
  sampleEvent(),
  sampleEvent({
    clientIp: '::ffff:10.1.2.3',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    errorClass: 'rate_limited',
    status: 429,
    upstreamStatus: 0,
  }),
  sampleEvent({ clientIp: '2001:db8::1', bytesOut: 2 ** 40, totalUs: 0, bytesIn: 2 ** 31 + 7 }),
  sampleEvent({ clientIp: 'unix:/tmp/s', route: 'tab\there\nnew\\line\r', target: '' }),
  sampleEvent({ id: 'not-a-uuid', service: 'ünïcode' }),
  sampleEvent({ traceId: 'short-trace', node: '', route: 'ünï' }),
  sampleEvent({ protocol: 'grpc', tlsVersion: 'TLSv1.3', grpcStatus: 14, grpcMethod: '/a.B/C', messagesIn: 3 }),
  sampleEvent({ protocol: 'h2', tlsVersion: 'TLSv1.2', messagesOut: 2 ** 40 }),
  sampleEvent({ protocol: 'grpc', grpcStatus: 2 ** 40, grpcMethod: '/ü.B/C' }),
  sampleEvent({ protocol: 'websocket', messagesIn: 5, closeCode: 4000, closeReason: 'client' }),
  sampleEvent({ protocol: 'tcp', interim: true, status: 200 }),
  sampleEvent({ protocol: 'tcp', closeReason: 'ünï' }),
];
const FAST = [true, true, true, true, false, false, true, true, false, true, true, false];

/** `event` as a v1 writer stored it: v3 is v1 with another version byte and 8 or more bytes appended. */
function v1Record(event: ReturnType<typeof sampleEvent>): Buffer {
  const v1 = Buffer.from(v2Record(event).subarray(0, -6));
  v1[0] = 1;
  return v1;
}

/** `event` as a v2 writer stored it: v3 is v2 with another version byte and 2 or more bytes appended. */
function v2Record(event: ReturnType<typeof sampleEvent>): Buffer {
  const v3 = encode({
    ...event,
    tlsVersion: '',
    grpcMethod: '',
    grpcStatus: -1,
    messagesIn: 0,
    messagesOut: 0,
    closeCode: 0,
    closeReason: '',
    interim: false,
  });
  const v2 = Buffer.from(v3.subarray(0, -2));
  v2[0] = 2;
  return v2;
}

test('reads every field counting and raw rows need exactly as decode() does', () => {
  const view = emptyView();
  EVENTS.forEach((event, i) => {
    readEvent(encode(event), view);
    assert.equal(view.event === undefined, FAST[i], 'only a text id or non-ASCII text takes decode()');
    for (const field of [
      'startMs',
      'appId',
      'service',
      'status',
      'upstreamStatus',
      'totalUs',
      'upstreamUs',
      'gatewayUs',
      'bytesIn',
      'bytesOut',
      'errorClass',
      'protocol',
      'grpcStatus',
      'messagesIn',
      'messagesOut',
      'closeCode',
      'interim',
    ] as const) {
      assert.equal(view[field], event[field], `${field} of event ${i}`);
    }
  });
});

test('writes the same raw-row bytes as rawRowTsv of the decoded event, fast path and fallback alike', () => {
  const body = new RawTsvBody();
  body.reset();
  const view = emptyView();
  let expected = RAW_INSERT_TSV;
  EVENTS.forEach((event, i) => {
    readEvent(encode(event), view);
    body.add(view, Buffer.from(tsvString(SOURCE)), 1000 + i);
    expected += rawRowTsv(decode(encode(event)), tsvString(SOURCE), 1000 + i);
  });
  const v1 = v1Record(EVENTS[1]);
  readEvent(v1, view);
  assert.equal(view.event, undefined, 'a v1 record takes the fast path too');
  assert.deepEqual([view.protocol, view.grpcStatus, view.messagesIn], ['http/1.1', -1, 0]);
  body.add(view, Buffer.from(tsvString(SOURCE)), 7);
  expected += rawRowTsv(decode(v1), tsvString(SOURCE), 7);
  const v2 = v2Record(EVENTS[1]);
  readEvent(v2, view);
  assert.equal(view.event, undefined, 'a v2 record takes the fast path too');
  assert.deepEqual([view.closeCode, view.interim, view.closeReasonLen], [0, false, 0]);
  body.add(view, Buffer.from(tsvString(SOURCE)), 8);
  expected += rawRowTsv(decode(v2), tsvString(SOURCE), 8);
  assert.equal(body.rows, EVENTS.length + 2);
  assert.equal(body.body().toString('utf8'), expected);
  body.reset();
  assert.equal(body.body().toString('utf8'), RAW_INSERT_TSV);
});

test('rejects a malformed record with the same reason as decode()', () => {
  const good = encode(sampleEvent());
  const bad = [
    Buffer.alloc(0),
    Buffer.from([9, 1]),
    good.subarray(0, good.length - 1),
    Buffer.concat([good, Buffer.from([0])]),
    Buffer.from([good[0], 0x80 | good[1], ...good.subarray(2)]),
  ];
  for (const bytes of bad) {
    const reason = (() => {
      try {
        decode(bytes);
        return 'accepted';
      } catch (e) {
        return (e as EventDecodeError).reason;
      }
    })();
    assert.notEqual(reason, 'accepted');
    assert.throws(
      () => readEvent(bytes, emptyView()),
      (e: unknown) => e instanceof EventDecodeError && e.reason === reason,
    );
  }
});

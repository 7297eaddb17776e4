import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, EventDecodeError } from '../../shared/access-event-codec.ts';
import { sampleEvent } from './sample-event.fixture.ts';
import { EVENTS, FAST } from './event-view.fixture.ts';
import { emptyView, readEvent } from './event-view.ts';

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

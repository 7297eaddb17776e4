// The codec refusing what it cannot carry, and decoding only ever failing with EventDecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, EventDecodeError, FORMAT_VERSION, MAX_FIELD_BYTES } from './access-event-codec.ts';
import type { EventDecodeReason } from './access-event-codec.ts';
import { ERROR_CLASSES, PROTOCOLS, type AccessEvent } from './access-event.ts';
import { typical } from './access-event-codec.fixture.ts';
import { seededRandom } from '../test/helpers/seeded-random.ts';

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
  for (const version of [0, 4, 0x7b, 0xff]) {
    const bytes = encode(typical);
    bytes[0] = version;
    assertDecodeError(bytes, 'unknown_version');
  }
  assert.equal(FORMAT_VERSION, 3);
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
    assertDecodeError(withByte(1, bytes[1] | 0x20), 'invalid');
    // The interim flag is v3's: a v2 record (the same without the v3 tail) may not carry it.
    const v2 = Buffer.from(bytes.subarray(0, bytes.length - 2));
    v2[0] = 2;
    assert.equal(decode(v2).interim, false);
    v2[1] |= 0x10;
    assertDecodeError(v2, 'invalid');
    // The record ends: error class, traceId '' (1 byte), protocol, five one-byte v2 fields, two one-byte v3 ones.
    assertDecodeError(withByte(bytes.length - 10, ERROR_CLASSES.length), 'invalid');
    assertDecodeError(withByte(bytes.length - 8, PROTOCOLS.length), 'invalid');
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

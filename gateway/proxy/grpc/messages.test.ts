import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GrpcMessageCounter } from './messages.ts';

function frame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

test('counts each length-prefixed message, empty ones included, in one chunk', () => {
  const c = new GrpcMessageCounter();
  c.push(Buffer.concat([frame(Buffer.from('hello')), frame(new Uint8Array(0)), frame(Buffer.alloc(70_000, 7))]));
  assert.equal(c.count, 3);
});

test('a payload whose bytes look like prefixes is skipped, not read as messages', () => {
  const c = new GrpcMessageCounter();
  const inner = Buffer.concat([frame(new Uint8Array(0)), frame(new Uint8Array(0))]);
  c.push(frame(inner));
  assert.equal(c.count, 1);
});

test('property: any messages, split into chunks anywhere, count the same as whole', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.nat(400), { maxLength: 30 }),
      (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map(frame));
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const c = new GrpcMessageCounter();
        let from = 0;
        for (const to of [...at, stream.length]) {
          c.push(stream.subarray(from, to));
          from = to;
        }
        assert.equal(c.count, payloads.length);
      },
    ),
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { closeFrame, FrameTracker } from './frames.ts';

interface Frame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  length: number;
}

/** A frame's bytes (RFC 6455 5.2): the header in its shortest form, a mask key when masked, the payload. */
function encode(f: Frame): Buffer {
  const len7 = f.length < 126 ? f.length : f.length < 65536 ? 126 : 127;
  const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const head = Buffer.alloc(2 + extended + (f.masked ? 4 : 0));
  head[0] = (f.fin ? 0x80 : 0) | f.opcode;
  head[1] = (f.masked ? 0x80 : 0) | len7;
  if (len7 === 126) head.writeUInt16BE(f.length, 2);
  if (len7 === 127) head.writeBigUInt64BE(BigInt(f.length), 2);
  return Buffer.concat([head, Buffer.alloc(f.length, 0x2a)]);
}

const frame = fc.record({
  fin: fc.boolean(),
  opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x9, 0xa),
  masked: fc.boolean(),
  length: fc.oneof(fc.nat(125), fc.integer({ min: 126, max: 70_000 })),
});

test('messages, message size and frame boundaries, however the stream is split', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const bytes = Buffer.concat(frames.map(encode));
      const tracker = new FrameTracker();
      const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      let from = 0;
      for (const cut of [...at, bytes.length]) {
        tracker.push(bytes.subarray(from, cut));
        from = cut;
      }
      const data = frames.filter((f) => f.opcode < 0x8);
      assert.equal(tracker.count, data.filter((f) => f.fin).length);
      assert.equal(tracker.atBoundary, true);
      assert.equal(tracker.closed, false);
      // The last message's size: its data frame and the continuations after it.
      const start = data.findLastIndex((f) => f.opcode !== 0);
      const last = data.slice(Math.max(0, start)).reduce((n, f) => n + f.length, 0);
      if (start >= 0) assert.equal(tracker.messageBytes, last);
    }),
  );
});

test('a close frame is noted, and the middle of a frame is not a boundary', () => {
  const tracker = new FrameTracker();
  const text = encode({ fin: true, opcode: 1, masked: true, length: 300 });
  tracker.push(text.subarray(0, 10));
  assert.equal(tracker.atBoundary, false);
  tracker.push(text.subarray(10));
  assert.equal(tracker.atBoundary, true);
  tracker.push(closeFrame(1001));
  assert.deepEqual([tracker.closed, tracker.count], [true, 1]);
});

test("a close frame's code is read, unmasked, however the frame is split; one without a code is 1005", () => {
  // A client's close frame: masked with a real key, code 4001 and a reason.
  const payload = Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('bye')]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  const frame = Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), key, masked]);
  for (let cut = 0; cut <= frame.length; cut++) {
    const tracker = new FrameTracker();
    tracker.push(encode({ fin: true, opcode: 1, masked: true, length: 5 }));
    tracker.push(frame.subarray(0, cut));
    tracker.push(frame.subarray(cut));
    assert.deepEqual([tracker.closeCode, tracker.atBoundary, tracker.count], [4001, true, 1], `cut at ${cut}`);
  }
  const empty = new FrameTracker();
  empty.push(Buffer.from([0x88, 0x00]));
  assert.deepEqual([empty.closed, empty.closeCode, empty.atBoundary], [true, 1005, true]);
  const server = new FrameTracker();
  server.push(closeFrame(1001));
  server.push(closeFrame(1000)); // only the first counts
  assert.equal(server.closeCode, 1001);
});

test('a 64-bit length is read whole: the message size of a frame of 2^40 + 5 bytes, and one beyond 2^53', () => {
  for (const length of [2n ** 40n + 5n, 2n ** 53n + 3n, 2n ** 64n - 1n]) {
    const head = Buffer.alloc(10);
    head[0] = 0x82;
    head[1] = 127;
    head.writeBigUInt64BE(length, 2);
    const tracker = new FrameTracker();
    tracker.push(head);
    assert.equal(tracker.messageBytes, Number(length), `length ${length}`);
    assert.equal(tracker.atBoundary, false, 'its payload is still to come');
  }
});

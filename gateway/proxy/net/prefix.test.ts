import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { type PrefixEnd, readPrefix } from './prefix.ts';

/** A socket that hands out the chunks it is given, and says whether it was left paused. */
class FakeSocket extends EventEmitter {
  paused = false;
  pause() {
    this.paused = true;
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
}

test('whatever the chunks, the parse sees every byte so far in order, and done gets all that was read', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 3000 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 3000 }),
      fc.uint8Array({ maxLength: 20 }),
      (data, sizes, want, initial) => {
        const stream = Buffer.concat([Buffer.from(initial), Buffer.from(data)]);
        const socket = new FakeSocket();
        const seen: Buffer[] = [];
        let ended: { end: PrefixEnd<number>; bytes: Buffer } | undefined;
        // Parsed once `want` bytes are in: the value is how many there were.
        const parse = (bytes: Buffer) => {
          seen.push(Buffer.from(bytes));
          return bytes.length >= want ? bytes.length : undefined;
        };
        readPrefix(socket as unknown as Socket, Buffer.from(initial), parse, 60_000, (end, bytes) => {
          ended = { end, bytes: Buffer.from(bytes) };
        });
        let at = 0;
        for (let i = 0; at < data.length && ended === undefined; i++) {
          const size = sizes[i % sizes.length]!;
          socket.emit('data', Buffer.from(data.subarray(at, at + size)));
          at += size;
        }
        if (ended === undefined) socket.emit('close');
        const read = Math.min(initial.length + at, stream.length);
        for (const bytes of seen) assert.deepEqual(bytes, stream.subarray(0, bytes.length));
        assert.deepEqual(ended!.bytes, stream.subarray(0, read), 'every byte read, once, in order');
        if (read >= want) assert.deepEqual(ended!.end, { kind: 'parsed', value: read });
        else assert.deepEqual(ended!.end, { kind: 'closed' });
        // Parsed from what it was given it never resumed the socket; else it leaves it paused for the caller.
        assert.equal(socket.paused, initial.length < want, 'left paused for the caller');
        assert.equal(socket.listenerCount('data'), 0);
      },
    ),
  );
});

test('a client that sends too little in time ends as a timeout, with what it sent', async () => {
  const socket = new FakeSocket();
  const ended = new Promise<[PrefixEnd<true>, Buffer]>((resolve) =>
    readPrefix(
      socket as unknown as Socket,
      Buffer.alloc(0),
      (): true | undefined => undefined,
      20,
      (end, bytes) => resolve([end, bytes]),
    ),
  );
  socket.emit('data', Buffer.from('ab'));
  socket.emit('data', Buffer.from('c'));
  const [end, bytes] = await ended;
  assert.deepEqual(end, { kind: 'timeout' });
  assert.equal(bytes.toString(), 'abc');
});

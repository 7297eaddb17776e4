/**
 * What a client that sends its ClientHello slowly costs an SNI-routing stream before its handshake timeout: 16 KB
 * (the most a hello may be) in 1-byte TLS records, given to readPrefix a record at a time and a byte at a time, with
 * the reader the stream uses, beside reading each time from the start with a concat per chunk (as it was).
 * Run: node test/bench/net/prefix.bench.ts
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { readPrefix } from '../../../gateway/proxy/net/prefix.ts';
import { clientHelloReader, readClientHello } from '../../../gateway/proxy/streams/client-hello.ts';

// A ClientHello header that says 15,000 bytes follow, then records of one byte each up to 16 KB.
const records: Buffer[] = [Buffer.from([22, 3, 1, 0, 4, 1, 0, 0x3a, 0x98])];
while (records.length * 6 < 16 * 1024) records.push(Buffer.from([22, 3, 1, 0, 1, 0]));
const all = Buffer.concat(records);
const bytewise = Array.from(all, (b) => Buffer.from([b]));

/** A socket that only hands out the chunks it is given. */
class FakeSocket extends EventEmitter {
  pause() {
    return this;
  }
  resume() {
    return this;
  }
}

function viaReadPrefix(chunks: Buffer[]): number {
  const socket = new FakeSocket();
  const read = clientHelloReader();
  const start = performance.now();
  readPrefix(
    socket as unknown as Socket,
    Buffer.alloc(0),
    (b) => (read(b).kind === 'incomplete' ? undefined : true),
    60_000,
    () => undefined,
  );
  for (const c of chunks) socket.emit('data', c);
  const ms = performance.now() - start;
  socket.emit('close');
  return ms;
}

function fromTheStart(chunks: Buffer[]): number {
  const start = performance.now();
  let bytes = Buffer.alloc(0);
  for (const c of chunks) {
    bytes = Buffer.concat([bytes, c]);
    readClientHello(bytes);
  }
  return performance.now() - start;
}

for (const [name, chunks] of [
  ['a record at a time', records],
  ['a byte at a time', bytewise],
] as const) {
  const now = Math.min(...Array.from({ length: 5 }, () => viaReadPrefix(chunks)));
  const before = Math.min(...Array.from({ length: 3 }, () => fromTheStart(chunks)));
  console.log(
    `${name} (${chunks.length} chunks): ${now.toFixed(1)} ms now, ${before.toFixed(1)} ms from the start each time`,
  );
}

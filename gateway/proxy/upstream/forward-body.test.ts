import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, type Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { forwardBody, InspectedBody } from './forward-body.ts';

/** A sink that takes one chunk per `release()` call, with room for `highWaterMark` bytes. */
function slowSink(highWaterMark: number) {
  const got: Buffer[] = [];
  const waiting: Array<() => void> = [];
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      waiting.push(cb);
    },
  });
  const release = () => waiting.shift()?.();
  return { sink, got, release };
}

const listeners = (s: Readable) => ['data', 'end', 'close', 'error'].map((e) => s.listenerCount(e));

test('a body goes through whole and in order, the source paused while the sink is full', async () => {
  const source = new PassThrough();
  const { sink, got, release } = slowSink(4);
  const failures: Error[] = [];
  forwardBody(source, sink, (e) => failures.push(e));
  source.write(Buffer.from('aaaa'));
  source.write(Buffer.from('bbbb'));
  source.end(Buffer.from('cc'));
  await tick();
  // The first chunk filled the sink: the source waits, the other chunks stay with it.
  assert.equal(source.isPaused(), true);
  assert.equal(got.length, 1);
  for (let i = 0; i < 20 && !sink.writableFinished; i++) {
    release();
    await tick();
  }
  assert.equal(sink.writableFinished, true, 'the sink is ended once the source is');
  assert.equal(Buffer.concat(got).toString(), 'aaaabbbbcc');
  assert.deepEqual(failures, []);
  assert.deepEqual(listeners(source), [0, 0, 0, 0], 'no listener left on the source');
});

test('an inspected body is sent as inspect returns it, and inspect sees every chunk', async () => {
  const source = new PassThrough();
  const sink = new PassThrough();
  const seen: string[] = [];
  const body = new InspectedBody(
    source,
    (chunk) => {
      seen.push(chunk.toString());
      return Buffer.from(chunk.toString().toUpperCase());
    },
    () => null,
  );
  forwardBody(body, sink, (e) => assert.fail(e));
  source.end('one');
  const out: Buffer[] = [];
  for await (const chunk of sink) out.push(chunk);
  assert.equal(Buffer.concat(out).toString(), 'ONE');
  assert.deepEqual(seen, ['one']);
});

test('a chunk inspect refuses fails the call with its error, and nothing after it is written', async () => {
  const source = new PassThrough();
  const sink = new PassThrough();
  const refused = new Error('too large');
  let n = 0;
  const body = new InspectedBody(
    source,
    (chunk) => (++n === 2 ? refused : chunk),
    () => null,
  );
  const failures: Error[] = [];
  forwardBody(body, sink, (e) => failures.push(e));
  source.write('first');
  source.write('second');
  source.write('third');
  await tick();
  assert.deepEqual(failures, [refused]);
  assert.equal(sink.read()?.toString(), 'first');
  assert.equal(sink.writableEnded, false, 'a refused body does not end the upstream request');
  assert.deepEqual(listeners(source), [0, 0, 0, 0]);
});

test("an error from the body's end fails the call instead of ending it", async () => {
  const source = new PassThrough();
  const sink = new PassThrough();
  const cut = new Error('cut inside a base64 quantum');
  const failures: Error[] = [];
  forwardBody(
    new InspectedBody(
      source,
      (c) => c,
      () => cut,
    ),
    sink,
    (e) => failures.push(e),
  );
  source.end('abc');
  await tick();
  await tick();
  assert.deepEqual(failures, [cut]);
  assert.equal(sink.writableEnded, false);
});

test('a source that closes before its end fails the call as a client that left', async () => {
  const source = new PassThrough();
  const sink = new PassThrough();
  const failures: Error[] = [];
  forwardBody(source, sink, (e) => failures.push(e));
  source.write('part');
  source.destroy();
  await once(source, 'close');
  assert.equal(failures.length, 1);
  assert.equal((failures[0] as NodeJS.ErrnoException).code, 'TOLLGATE_CLIENT_CLOSED');
});

test("a source's error fails the call with that error", async () => {
  const source = new PassThrough();
  const sink = new PassThrough();
  const failures: Error[] = [];
  forwardBody(source, sink, (e) => failures.push(e));
  const broken = new Error('broken');
  source.destroy(broken);
  await tick();
  assert.deepEqual(failures, [broken]);
});

test('a sink that closes first lets go of the source, which is neither read on nor failed', async () => {
  const source = new PassThrough();
  const sink = new PassThrough();
  const failures: Error[] = [];
  forwardBody(source, sink, (e) => failures.push(e));
  sink.destroy();
  await once(sink, 'close');
  assert.deepEqual(listeners(source), [0, 0, 0, 0]);
  assert.equal(sink.listenerCount('drain'), 0);
  assert.deepEqual(failures, []);
});

test('a source paused before forwarding starts flowing, as pipe() would make it', async () => {
  const source = new PassThrough();
  source.pause();
  source.end('late');
  const sink = new PassThrough();
  forwardBody(source, sink, (e) => assert.fail(e));
  const out: Buffer[] = [];
  for await (const chunk of sink) out.push(chunk);
  assert.equal(Buffer.concat(out).toString(), 'late');
});

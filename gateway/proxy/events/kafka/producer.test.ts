import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { createEventProducer } from './producer.ts';

// Regression: the library timed its requests out after its own 30 s default whatever the sink's timeout said,
// so requests the sink had given up on stayed open (and the library's de-duplicated calls queued behind them).
test('a broker that accepts and never answers fails the ' +
  "producer's requests within the sink's timeout, not the library's 30 s", {
  timeout: 20_000,
}, async (t) => {
  const held = new Set<Socket>();
  const silent = createServer((s) => {
    held.add(s);
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of held) s.destroy();
        silent.close(() => resolve());
      }),
  );
  const { port } = silent.address() as { port: number };
  const timeoutMs = 500;
  const producer = createEventProducer({
    brokers: [`127.0.0.1:${port}`],
    topic: 'never',
    clientId: 'test',
    compression: 'none',
    timeoutMs,
  });
  t.after(() => producer.close().catch(() => undefined));
  const startMs = performance.now();
  await assert.rejects(producer.connect());
  const tookMs = performance.now() - startMs;
  // Three attempts (the library's two retries, 100 ms apart) of at most timeoutMs each, with room for a busy machine.
  assert.ok(tookMs < 3 * timeoutMs + 2000, `connect() took ${Math.round(tookMs)} ms`);
});

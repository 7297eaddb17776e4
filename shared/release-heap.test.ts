import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

const inThread = `
  const { parentPort } = require('node:worker_threads');
  import(${JSON.stringify(new URL('./release-heap.ts', import.meta.url).href)}).then(({ releaseHeap }) => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(releaseHeap());
    parentPort.postMessage({ results, gcOnGlobal: 'gc' in globalThis });
  });
`;

test('threads release their heaps at once: none throws or leaves gc on globalThis, each gets gc', async () => {
  const runs = await Promise.all(
    Array.from({ length: 4 }, () => {
      const worker = new Worker(inThread, { eval: true });
      return new Promise<{ results: boolean[]; gcOnGlobal: boolean }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }).finally(() => worker.terminate());
    }),
  );
  for (const run of runs) {
    assert.equal(run.gcOnGlobal, false);
    // A thread may skip a release while another holds the flag off, never every one.
    assert.ok(run.results.some(Boolean), JSON.stringify(run.results));
  }
});

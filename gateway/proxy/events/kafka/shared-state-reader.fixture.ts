// Reads the writer's side of a SharedState as the sender thread does, as fast as it can (shared-state.test.ts):
// posts how many of its reads broke the invariant every update keeps, position = base + 1000 = records * 10.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedState } from './shared-state.ts';

const state = new SharedState(workerData as SharedArrayBuffer);
let torn = 0;
for (let reads = 0; reads < 2_000_000; reads++) {
  const w = state.writer();
  if (w.writtenPosition !== w.writingBase + 1000 || w.writtenPosition !== w.writtenRecords * 10) torn++;
}
parentPort!.postMessage(torn);

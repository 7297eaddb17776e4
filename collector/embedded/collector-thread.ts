/**
 * The single-node collector's worker thread (started by threaded.ts): it
 * reads the gateway's segment logs, aggregates and writes SQLite, and answers
 * the reports' queries, so none of that runs on the proxy's event loop. The
 * store and the logs are the state: a thread that dies is replaced and
 * resumes from the stored positions, counting nothing twice.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { releaseHeap } from '../../shared/release-heap.ts';
import { lowerThisThreadsPriority, threadLogger } from '../../shared/worker-thread.ts';
import { EmbeddedCollector } from './collector.ts';
import { EmbeddedStore } from './store.ts';
import type { FromThread, ThreadOptions, ToThread } from './thread-protocol.ts';

lowerThisThreadsPriority();

const port = parentPort!;
const options = workerData as ThreadOptions;
const post = (message: FromThread) => port.postMessage(message);

const logger = threadLogger(post);

const store = EmbeddedStore.open(options.dbPath);
const collector = new EmbeddedCollector({
  eventsDir: options.eventsDir,
  store,
  logger,
  pollIntervalMs: options.pollIntervalMs,
});
collector.onBatch((b) => post({ type: 'batch', seconds: b.seconds, stats: collector.stats }));
// Lag moves without batches (the gateway writes while nothing is counted yet): report it on a timer too.
const statsTimer = setInterval(() => post({ type: 'stats', stats: collector.stats }), options.statsIntervalMs);

async function answer(message: ToThread): Promise<unknown> {
  switch (message.op) {
    case 'traffic':
      return store.trafficRows(message.selection);
    case 'dailyApps':
      return store.dailyAppRows(message.selection);
    case 'live':
      return collector.live();
    case 'recent':
      return collector.recent(message.selection);
    case 'examples':
      return store.traceExamples(message.selection);
    case 'stop':
      clearInterval(statsTimer);
      await collector.stop();
      store.close();
      return null;
  }
}

port.on('message', (message: ToThread) => {
  answer(message).then(
    (value) => post({ type: 'reply', id: message.id, value }),
    (err: Error) => post({ type: 'reply', id: message.id, error: err.message }),
  );
});

await collector.start();
post({ type: 'ready', stats: collector.stats });
// What opening the store and the logs grew, V8 would keep while the thread idles
// (docs/decisions/0007-memory-settings.md).
releaseHeap();

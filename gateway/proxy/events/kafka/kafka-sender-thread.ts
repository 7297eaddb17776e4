/**
 * The Kafka sink's sender thread (started by kafka-sink.ts): reads the write-ahead log the proxy thread writes,
 * and ships it to Kafka. The Kafka client, its sockets, its batches and their garbage live in this thread's own
 * heap, so none of it runs on, or pauses, the proxy's event loop (docs/decisions/0008-counting-cost.md).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { releaseHeap } from '../../../../shared/release-heap.ts';
import { lowerThisThreadsPriority, threadLogger } from '../../../../shared/worker-thread.ts';
import { KafkaLogReader } from './log.ts';
import { createEventProducer, type EventProducer } from './producer.ts';
import { KafkaSender } from './sender.ts';
import { SharedState } from './shared-state.ts';
import type { FromSender, SenderThreadOptions, ToSender } from './sender-protocol.ts';

// On a busy core the proxy thread goes first; the events wait in the log meanwhile.
lowerThisThreadsPriority();

const port = parentPort!;
const options = workerData as SenderThreadOptions;
const post = (message: FromSender) => port.postMessage(message);
const logger = threadLogger(post);
const state = new SharedState(options.buffer);

let producer: EventProducer = createEventProducer(options.config);
if (options.producerModule !== undefined) {
  // Fault tests wrap the real producer (a slow broker) from a module of their own.
  const { wrapProducer } = (await import(options.producerModule)) as {
    wrapProducer(real: EventProducer): EventProducer;
  };
  producer = wrapProducer(producer);
}

const log = await KafkaLogReader.open(options.dir, state, (base) => post({ type: 'oldest', base }), logger);
const sender = new KafkaSender(options.config, producer, log, state, logger);

port.on('message', (message: ToSender) => {
  if (message.op !== 'close') return;
  sender.close(message.deliverMs, message.timeoutMs).then(
    () => post({ type: 'closed', unsentEvents: log.unsentEvents }),
    (error: Error) => post({ type: 'closed', unsentEvents: log.unsentEvents, error: error.message }),
  );
});

sender.start();
post({ type: 'ready' });
// The Kafka client's import grew this thread's young generation to 2 x 16 MB, which V8 kept while it idled: the
// sink's idle RSS was ~25 MB higher without this (docs/decisions/0007-memory-settings.md).
releaseHeap();

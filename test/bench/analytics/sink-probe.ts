// Preloaded into the gateway under test by outage.bench.ts (NODE_OPTIONS=--import):
// the Kafka sink's in-memory queue has no metric, so this writes the sink's own
// counters (public getters) once a second as a JSON line to BENCH_SINK_PROBE_FILE.
// It patches KafkaEventSink.prototype.start of the module the gateway itself loads
// (BENCH_SINK_MODULE: dist/…/kafka-sink.js for the built gateway) to learn the instance.
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface SinkView {
  state: string;
  queuedEvents: number;
  peakQueuedEvents: number;
  peakQueuedBytes: number;
  spooledEvents: number;
  start(): void;
}

const file = process.env.BENCH_SINK_PROBE_FILE;
const modulePath = process.env.BENCH_SINK_MODULE;
if (file && modulePath) {
  const { KafkaEventSink } = (await import(pathToFileURL(modulePath).href)) as { KafkaEventSink: { prototype: SinkView } };
  const start = KafkaEventSink.prototype.start;
  KafkaEventSink.prototype.start = function probedStart(this: SinkView): void {
    const sink = this;
    setInterval(() => {
      const line = { atMs: Date.now(), state: sink.state, queued: sink.queuedEvents, peakQueued: sink.peakQueuedEvents, peakQueuedBytes: sink.peakQueuedBytes, spooled: sink.spooledEvents };
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    }, 1000).unref();
    start.call(this);
  };
}

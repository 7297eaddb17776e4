/**
 * The OTLP exporter's thread (started by thread-exporter.ts): each batch arrives as its serialized request body, and
 * the transport of the protocol the environment names sends it from here. The HTTP or gRPC client and its garbage
 * stay off the proxy thread, where a few exports a second had the hot socket-writing functions deoptimised and
 * recompiled over and over (docs/decisions/0012-tracing.md).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import { releaseHeap } from '../release-heap.ts';
import { lowerThisThreadsPriority } from '../worker-thread.ts';
import { otlpSender } from './otlp-exporter.ts';
import type { ExporterThreadOptions, FromExporter, ToExporter } from './thread-exporter.ts';

// A little below the proxy thread: at the same priority it took its fair share of a core the gateway was held to,
// and the proxy thread waited behind it (p99 at half load +8 ms at 1% sampling); at 19, as the Kafka sender and the
// collector run (they lag and catch up from disk; spans have no disk), it starved at the gateway's peak and 97% of
// 100% sampling's spans were dropped (docs/decisions/0012-tracing.md).
lowerThisThreadsPriority(5);

const port = parentPort!;
const options = workerData as ExporterThreadOptions;
const post = (message: FromExporter) => port.postMessage(message);

try {
  const exporter = await otlpSender(options.protocol);
  port.on('message', (m: ToExporter) => {
    if (m.op === 'shutdown') {
      exporter.shutdown().finally(() => post({ type: 'shut' }));
      return;
    }
    exporter.export(m.batch, (result) =>
      post({
        type: 'exported',
        id: m.id,
        ok: result.code === ExportResultCode.SUCCESS,
        error: result.error?.message,
      }),
    );
  });
  post({ type: 'ready' });
  // What loading the exporter grew, V8 would keep while the thread idles (docs/decisions/0007-memory-settings.md).
  releaseHeap();
} catch (error) {
  post({ type: 'failed', message: (error as Error).message });
}

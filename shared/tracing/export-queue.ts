/**
 * The bound on spans waiting for export, shared by the process's span processors (the SDK's batch processor for its
 * own spans, encoding-processor.ts for the gateway's): a span is counted from the moment it is taken until its export
 * ends, and one that finds the queue full is dropped and counted, never waited for.
 */
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { SpanCounts } from './sdk.ts';

export class ExportQueue {
  /** Spans taken and not yet through an export. */
  pending = 0;
  readonly max: number;
  readonly counts: SpanCounts;

  constructor(max: number, counts: SpanCounts) {
    this.max = max;
    this.counts = counts;
  }

  /** Whether an ended span is taken for export: a sampled one while there is room; a sampled one that finds none is
   * counted as dropped. */
  admit(span: ReadableSpan): boolean {
    if ((span.spanContext().traceFlags & 1) === 0) return false;
    if (this.pending >= this.max) {
      this.counts.dropped++;
      return false;
    }
    this.pending++;
    return true;
  }

  /** An export of `count` spans ended: they leave the queue, counted as exported or failed. */
  settle(count: number, result: ExportResult): void {
    this.pending = Math.max(0, this.pending - count);
    if (result.code === ExportResultCode.SUCCESS) this.counts.exported += count;
    else this.counts.failed += count;
  }
}

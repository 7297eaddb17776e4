import { join } from 'node:path';
import type { AccessEvent } from '../../../shared/access-event.ts';
import { encodeTransient } from '../../../shared/access-event-codec.ts';
import type { Logger } from '../../log.ts';
import type { EventMetrics } from '../../metrics.ts';
import { SegmentLog } from '../../../shared/segment-log/segment-log.ts';
import type { EventSink } from './sink.ts';
import { RateLimitedWarn } from './warn.ts';

/**
 * Single-node transport: each event is encoded and appended to a local
 * segment log, which the collector thread reads. The events of responses that
 * end in one turn of the event loop are written together, and those responses
 * complete after that write (group commit); when the log reaches its disk
 * bound new events are dropped, counted and logged.
 */
export class EmbeddedEventSink implements EventSink {
  private readonly segments: SegmentLog;
  private readonly metrics: EventMetrics;
  private readonly warn: RateLimitedWarn;
  /** Counted as plain numbers and handed to prom-client at scrape time (see route-stats.ts for why). */
  private emitted = 0;

  private constructor(segments: SegmentLog, metrics: EventMetrics, warn: RateLimitedWarn) {
    this.segments = segments;
    this.metrics = metrics;
    this.warn = warn;
    metrics.source.up = () => 1;
    metrics.source.emitted = () => this.emitted;
    metrics.source.spoolBytes = () => this.segments.retainedBytes;
  }

  static async open(dir: string, maxBytes: number, metrics: EventMetrics, log: Logger): Promise<EmbeddedEventSink> {
    const warn = new RateLimitedWarn(log);
    const segments = await SegmentLog.open(join(dir, 'log'), {
      maxTotalBytes: maxBytes,
      segmentBytes: Math.min(64 * 1024 * 1024, Math.floor(maxBytes / 4)),
      logger: log,
      onDrop: (count, reason) => {
        const label = reason === 'full' ? 'log_full' : reason;
        metrics.dropped.inc({ reason: label }, count);
        warn.note(label, count);
      },
    });
    return new EmbeddedEventSink(segments, metrics, warn);
  }

  emit(event: AccessEvent, written?: () => void): void {
    let record: Buffer;
    try {
      record = encodeTransient(event);
    } catch (err) {
      this.unencodable(err as Error);
      written?.();
      return;
    }
    this.append(record, written);
  }

  append(record: Buffer, written?: () => void): void {
    // The segment log copies the record into its batch at once, so a transient view is safe.
    if (this.segments.append(record, written)) this.emitted++;
  }

  unencodable(error: Error): void {
    this.metrics.dropped.inc({ reason: 'encode_error' });
    this.warn.note('encode_error', 1, error.message);
  }

  async close(timeoutMs: number): Promise<void> {
    await Promise.race([this.segments.close(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.warn.flush();
  }
}

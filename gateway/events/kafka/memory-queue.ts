/**
 * Encoded events waiting in memory for the next batch, bounded in count and in
 * bytes. The sink empties it into the spool before a push would pass a bound.
 */
export class MemoryQueue {
  readonly maxEvents: number;
  readonly maxBytes: number;
  #records: Buffer[] = [];
  #bytes = 0;
  /** performance.now() when the oldest queued event arrived (after a partial take: when it was taken). */
  sinceMs = 0;
  peakEvents = 0;
  peakBytes = 0;

  constructor(maxEvents: number, maxBytes: number) {
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
  }

  get length(): number {
    return this.#records.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** True when one more record of `recordBytes` would pass a bound. */
  wouldOverflow(recordBytes: number): boolean {
    return this.#records.length >= this.maxEvents || this.#bytes + recordBytes > this.maxBytes;
  }

  push(record: Buffer): void {
    if (this.#records.length === 0) this.sinceMs = performance.now();
    this.#records.push(record);
    this.#bytes += record.length;
    if (this.#records.length > this.peakEvents) this.peakEvents = this.#records.length;
    if (this.#bytes > this.peakBytes) this.peakBytes = this.#bytes;
  }

  /** The oldest records, at most `maxRecords` of at most `maxBytes` together (but at least one). */
  take(maxRecords: number, maxBytes: number): { records: Buffer[]; bytes: number } {
    let count = 0;
    let bytes = 0;
    const limit = Math.min(maxRecords, this.#records.length);
    while (count < limit && (count === 0 || bytes + this.#records[count].length <= maxBytes)) bytes += this.#records[count++].length;
    const records = this.#records.splice(0, count);
    this.#bytes -= bytes;
    // What is left arrived while earlier batches were sent; it waits one flush at most.
    if (this.#records.length > 0) this.sinceMs = performance.now();
    return { records, bytes };
  }

  takeAll(): Buffer[] {
    const records = this.#records;
    this.#records = [];
    this.#bytes = 0;
    return records;
  }
}

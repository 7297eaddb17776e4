import type { DropReason, SegmentLogOptions } from './segment-log-options.ts';

/** Drops are reported at most this often, so a flood of them is a few calls, not one per record. */
const DROP_REPORT_MS = 10;

/** Coalesces dropped records per reason and hands them to `onDrop`: one call per reason at most every 10 ms, and on
 * flush(). */
export class DropReport {
  readonly #onDrop: SegmentLogOptions['onDrop'];
  readonly #unreported = new Map<DropReason, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(onDrop: SegmentLogOptions['onDrop']) {
    this.#onDrop = onDrop;
  }

  note(reason: DropReason, count: number): void {
    this.#unreported.set(reason, (this.#unreported.get(reason) ?? 0) + count);
    this.#timer ??= setTimeout(() => this.flush(), DROP_REPORT_MS);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [reason, count] of this.#unreported) this.#onDrop?.(count, reason);
    this.#unreported.clear();
  }
}

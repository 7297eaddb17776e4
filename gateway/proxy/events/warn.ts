import type { Logger } from '../../log.ts';

/**
 * Drops are logged, never silently lost, but not once per event: counts are
 * gathered per reason and written at most every `everyMs` (and on flush).
 */
export class RateLimitedWarn {
  private readonly log: Logger;
  private readonly everyMs: number;
  private readonly pending = new Map<string, { count: number; detail?: string }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, everyMs = 10_000) {
    this.log = log;
    this.everyMs = everyMs;
  }

  note(reason: string, count: number, detail?: string): void {
    const p = this.pending.get(reason);
    if (p) p.count += count;
    else this.pending.set(reason, { count, detail });
    if (!this.timer) {
      this.flush();
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.everyMs);
      this.timer.unref();
    }
  }

  flush(): void {
    for (const [reason, { count, detail }] of this.pending) {
      this.log.warn({ reason, dropped: count, detail }, 'access events dropped');
    }
    this.pending.clear();
  }
}

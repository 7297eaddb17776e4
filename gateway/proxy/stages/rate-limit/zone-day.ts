const DAY_MS = 86_400_000;

/**
 * The QPD day a moment belongs to, in one IANA time zone: the epoch ms of the
 * zone's midnight that starts it. The current day's bounds are cached, so the
 * per-request cost is two comparisons; Intl runs once a day (and on DST days
 * the offset is taken at the midnight itself, so 23- and 25-hour days count right).
 */
export class ZoneDays {
  readonly timeZone: string;
  private startMs = 0;
  private endMs = 0;
  private readonly fmt: Intl.DateTimeFormat | undefined;

  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.fmt =
      timeZone === 'UTC' || timeZone === 'Etc/UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** Start of the day containing `ms` (epoch ms). */
  startOf(ms: number): number {
    if (ms >= this.startMs && ms < this.endMs) return this.startMs;
    const [start, end] = this.bounds(ms);
    // Only the current day is cached; a refund for yesterday must not evict it.
    if (ms >= this.endMs) {
      this.startMs = start;
      this.endMs = end;
    }
    return start;
  }

  /** End (exclusive) of the day containing `ms`. */
  endOf(ms: number): number {
    return ms >= this.startMs && ms < this.endMs ? this.endMs : this.bounds(ms)[1];
  }

  private bounds(ms: number): [number, number] {
    if (!this.fmt) {
      const start = Math.floor(ms / DAY_MS) * DAY_MS;
      return [start, start + DAY_MS];
    }
    const [y, m, d] = this.fields(ms);
    return [this.midnight(y, m, d), this.midnight(y, m, d + 1)];
  }

  /** Epoch ms of local midnight on y-m-d (Date.UTC normalises d + 1 across months). */
  private midnight(y: number, m: number, d: number): number {
    const wall = Date.UTC(y, m - 1, d);
    const guess = wall - this.offset(wall);
    return wall - this.offset(guess);
  }

  /** Zone offset at `ms`: local wall-clock time minus UTC, in ms. */
  private offset(ms: number): number {
    const [y, m, d, h, mi, s] = this.fields(ms);
    return Date.UTC(y, m - 1, d, h, mi, s) - (ms - (((ms % 1000) + 1000) % 1000));
  }

  private fields(ms: number): number[] {
    const out = [0, 0, 0, 0, 0, 0];
    for (const p of this.fmt!.formatToParts(ms)) {
      const i =
        p.type === 'year'
          ? 0
          : p.type === 'month'
            ? 1
            : p.type === 'day'
              ? 2
              : p.type === 'hour'
                ? 3
                : p.type === 'minute'
                  ? 4
                  : p.type === 'second'
                    ? 5
                    : -1;
      if (i >= 0) out[i] = Number(p.value);
    }
    return out;
  }
}

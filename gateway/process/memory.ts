import { getHeapStatistics } from 'node:v8';
import { releaseHeap } from '../../shared/release-heap.ts';

/**
 * A memory-reducing full GC of the proxy thread (shared/release-heap.ts). Start-up grows the young generation to
 * its largest size and a burst of traffic does the same; V8's own memory reducer did not shrink either while the
 * gateway idled (docs/performance.md). The first seconds of traffic after it cost 1.5-2.5x the CPU per request, so
 * it runs right after start and, only when `proxy.release_memory_after_idle_ms` asks for it, when the data plane is
 * quiet (QuietRelease).
 */
export function releaseMemory(): void {
  releaseHeap();
  for (const listener of afterRelease) listener();
}

/** Run after every releaseMemory(): QuietRelease takes its low mark from there. */
const afterRelease = new Set<() => void>();

export interface QuietReleaseOptions {
  /** Requests the data plane has taken so far (any monotonic count). */
  served: () => number;
  /** How long no request may arrive before memory is released. */
  quietMs: number;
  /** Committed heap must have grown this much above its lowest since the last release. */
  minGrowthBytes?: number;
  checkEveryMs?: number;
  /** For tests: the clock, the heap reading and the release itself. */
  now?: () => number;
  heapBytes?: () => number;
  release?: () => void;
}

/**
 * After traffic stops, releases memory once: when no request has arrived for
 * `quietMs` (the config's `proxy.release_memory_after_idle_ms`) and the
 * committed heap is `minGrowthBytes` (8 MB) above
 * its lowest since the previous release (or since start: the start-up
 * release lowers it). A burst left ~37 MB of young
 * generation committed for as long as we watched (113 MB RSS, 90 s after the
 * load); one release took it back to 81 MB. Under steady traffic it never
 * runs, and a gateway that stays quiet releases once, not every period.
 */
export class QuietRelease {
  readonly #served: () => number;
  readonly #quietMs: number;
  readonly #minGrowthBytes: number;
  readonly #now: () => number;
  readonly #heapBytes: () => number;
  readonly #release: () => void;
  readonly #timer: NodeJS.Timeout;
  #lastServed: number;
  #quietSince: number;
  #baseline: number;

  constructor(opts: QuietReleaseOptions) {
    this.#served = opts.served;
    this.#quietMs = opts.quietMs;
    this.#minGrowthBytes = opts.minGrowthBytes ?? 8 * 2 ** 20;
    this.#now = opts.now ?? (() => performance.now());
    this.#heapBytes = opts.heapBytes ?? (() => getHeapStatistics().total_heap_size);
    this.#release = opts.release ?? releaseMemory;
    this.#lastServed = this.#served();
    this.#quietSince = this.#now();
    this.#baseline = this.#heapBytes();
    // The gateway makes its QuietRelease when the proxy listens, before the start-up release
    // (gateway/process/command.ts) has lowered the heap. Were the low mark not taken after that release, a
    // gateway loaded within its first check (10 s) would only ever see the heap as traffic grew it,
    // take that for its low, and never release: what it did until 2026-11-24.
    afterRelease.add(this.#rebase);
    this.#timer = setInterval(() => this.check(), opts.checkEveryMs ?? 10_000);
    this.#timer.unref();
  }

  readonly #rebase = (): void => {
    this.#baseline = this.#heapBytes();
  };

  /** One look (the timer calls it; tests call it directly). */
  check(): void {
    const heap = this.#heapBytes();
    if (heap < this.#baseline) this.#baseline = heap;
    const served = this.#served();
    const now = this.#now();
    if (served !== this.#lastServed) {
      this.#lastServed = served;
      this.#quietSince = now;
      return;
    }
    // Timers fire a little early or late; a second either way is still quiet for quietMs.
    if (now - this.#quietSince < this.#quietMs - 1000) return;
    if (heap - this.#baseline < this.#minGrowthBytes) return;
    this.#release();
    this.#baseline = this.#heapBytes();
  }

  stop(): void {
    clearInterval(this.#timer);
    afterRelease.delete(this.#rebase);
  }
}

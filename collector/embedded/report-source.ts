import type {
  BucketTraffic,
  DailyAppRow,
  DailySelection,
  ExampleSelection,
  LiveSnapshot,
  RecentEvent,
  RecentSelection,
  ReportSource,
  TrafficSelection,
} from '../reports/source.ts';
import type { TraceExample } from '../aggregate/trace-examples.ts';
import type { EmbeddedCollector } from './collector.ts';
import type { EmbeddedStore } from './store.ts';

/** The reports API over the single-node store, with live stats from the in-process collector. */
export class EmbeddedReportSource implements ReportSource {
  readonly #store: EmbeddedStore;
  readonly #collector: Pick<EmbeddedCollector, 'live' | 'recent'>;

  constructor(store: EmbeddedStore, collector: Pick<EmbeddedCollector, 'live' | 'recent'>) {
    this.#store = store;
    this.#collector = collector;
  }

  async traffic(q: TrafficSelection): Promise<BucketTraffic[]> {
    return this.#store.trafficRows(q);
  }

  async dailyApps(q: DailySelection): Promise<DailyAppRow[]> {
    return this.#store.dailyAppRows(q);
  }

  async live(): Promise<LiveSnapshot> {
    return this.#collector.live();
  }

  async recentEvents(q: RecentSelection): Promise<RecentEvent[]> {
    return this.#collector.recent(q);
  }

  async traceExamples(q: ExampleSelection): Promise<TraceExample[]> {
    return this.#store.traceExamples(q);
  }
}

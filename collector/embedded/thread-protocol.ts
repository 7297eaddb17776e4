import type { CollectorStats } from './collector.ts';
import type { DailySelection, ExampleSelection, RecentSelection, TrafficSelection } from '../reports/source.ts';
import type { ThreadLogLine } from '../../shared/worker-thread.ts';

/** What the collector thread is started with. */
export interface ThreadOptions {
  eventsDir: string;
  dbPath: string;
  pollIntervalMs: number;
  /** How often the thread reports its stats without a batch (lag grows while nothing is counted). */
  statsIntervalMs: number;
}

/** A request to the thread; every one is answered by a `reply` with its id. */
export type ToThread =
  | { id: number; op: 'traffic'; selection: TrafficSelection }
  | { id: number; op: 'dailyApps'; selection: DailySelection }
  | { id: number; op: 'live' }
  | { id: number; op: 'recent'; selection: RecentSelection }
  | { id: number; op: 'examples'; selection: ExampleSelection }
  | { id: number; op: 'stop' };

export type FromThread =
  | { type: 'ready'; stats: CollectorStats }
  | { type: 'batch'; seconds: number; stats: CollectorStats }
  | { type: 'stats'; stats: CollectorStats }
  | ThreadLogLine
  | { type: 'reply'; id: number; value?: unknown; error?: string };

/** A request before its id is given (Omit taken per member of the union). */
export type ThreadRequest = ToThread extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

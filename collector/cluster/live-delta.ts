/**
 * The increments one or more batches make to the Redis live counters,
 * aggregated per counter cell: (day | hour bucket, app, service) and
 * (second). Built once per batch so key and field strings are made per cell,
 * not per event (they were most of the collector's CPU), and mergeable, so
 * the increments of batches that could not reach Redis wait in memory bounded
 * by the number of cells, not of events.
 */
import type { LiveEvent } from './live-counters.ts';

export const DAY_S = 86_400;
export const HOUR_S = 3600;
export const DAY_TTL_S = 2 * DAY_S;
export const HOUR_TTL_S = 2 * HOUR_S;
export const SECOND_TTL_S = 60;

/** Requests per bucket start (epoch s) → app → service. */
type PairCounts = Map<number, Map<string, Map<string, number>>>;

export interface LiveDelta {
  days: PairCounts;
  hours: PairCounts;
  /** Requests per epoch second (the QPS counters). */
  seconds: Map<number, number>;
  /** Cells held: (bucket, app, service) pairs plus seconds. */
  cells: number;
  /** Events counted into it. */
  events: number;
}

export interface LiveKeys {
  dayKey(startS: number, kind: 'app' | 'service'): string;
  hourKey(startS: number, kind: 'app' | 'service'): string;
  secondKey(s: number): string;
  serviceField(appId: string, service: string): string;
}

export function emptyDelta(): LiveDelta {
  return { days: new Map(), hours: new Map(), seconds: new Map(), cells: 0, events: 0 };
}

/** The batch's increments, skipping buckets whose keys live stats no longer reads. */
export function deltaOf(events: readonly LiveEvent[], nowMs: number): LiveDelta {
  const nowS = Math.floor(nowMs / 1000);
  const todayS = Math.floor(nowS / DAY_S) * DAY_S;
  const thisHourS = Math.floor(nowS / HOUR_S) * HOUR_S;
  const d = emptyDelta();
  d.events = events.length;
  for (const { event } of events) {
    if (event.interim) continue; // traffic of a connection still open, not a request
    const s = Math.floor(event.startMs / 1000);
    // Yesterday too, so a request just before midnight UTC still lands in its day.
    if (s >= todayS - DAY_S) d.cells += add(d.days, s - (s % DAY_S), event.appId, event.service, 1);
    if (s >= thisHourS - HOUR_S) d.cells += add(d.hours, s - (s % HOUR_S), event.appId, event.service, 1);
    if (s > nowS - SECOND_TTL_S) {
      const n = d.seconds.get(s);
      if (n === undefined) d.cells++;
      d.seconds.set(s, (n ?? 0) + 1);
    }
  }
  return d;
}

/**
 * Adds `from` into `into`. A cell `into` lacks is created only while fewer
 * than maxNewCells have been created (the pending-cells bound); the requests
 * of cells refused are returned (and lost to the live counters).
 */
export function mergeDelta(into: LiveDelta, from: LiveDelta, maxNewCells: number): number {
  let budget = maxNewCells;
  let refused = 0;
  into.events += from.events;
  for (const [mine, theirs] of [
    [into.days, from.days],
    [into.hours, from.hours],
  ] as const) {
    for (const [startS, apps] of theirs) {
      for (const [appId, services] of apps) {
        for (const [service, n] of services) {
          const known = mine.get(startS)?.get(appId)?.has(service) === true;
          if (!known && budget <= 0) refused += n;
          else {
            if (!known) budget--;
            into.cells += add(mine, startS, appId, service, n);
          }
        }
      }
    }
  }
  for (const [s, n] of from.seconds) {
    const had = into.seconds.get(s);
    if (had === undefined) into.cells++;
    into.seconds.set(s, (had ?? 0) + n);
  }
  return refused;
}

/** Drops the buckets that have aged out of what live stats reads (their keys would have expired). */
export function pruneDelta(d: LiveDelta, nowMs: number): void {
  const nowS = Math.floor(nowMs / 1000);
  const oldestDay = Math.floor(nowS / DAY_S) * DAY_S - DAY_S;
  const oldestHour = Math.floor(nowS / HOUR_S) * HOUR_S - HOUR_S;
  for (const [buckets, oldest] of [
    [d.days, oldestDay],
    [d.hours, oldestHour],
  ] as const) {
    for (const [startS, apps] of buckets) {
      if (startS >= oldest) continue;
      for (const services of apps.values()) d.cells -= services.size;
      buckets.delete(startS);
    }
  }
  for (const s of d.seconds.keys()) {
    if (s > nowS - SECOND_TTL_S) continue;
    d.seconds.delete(s);
    d.cells--;
  }
}

/**
 * Keys and Lua arguments (per key: ttl, kind, n, n × (field, increment)) of
 * the delta's increments; a string counter has one pair whose field is ignored.
 */
export function scriptArgs(d: LiveDelta, k: LiveKeys): { keys: string[]; args: (string | number)[] } {
  const keys: string[] = [];
  const args: (string | number)[] = [];
  const hash = (key: string, ttlS: number, fields: Map<string, number>): void => {
    keys.push(key);
    args.push(ttlS, 'hash', fields.size);
    for (const [field, n] of fields) args.push(field, n);
  };
  for (const [buckets, ttlS, keyOf] of [
    [d.days, DAY_TTL_S, k.dayKey],
    [d.hours, HOUR_TTL_S, k.hourKey],
  ] as const) {
    for (const [startS, pairs] of buckets) {
      const apps = new Map<string, number>();
      const services = new Map<string, number>();
      for (const [appId, byService] of pairs) {
        let appTotal = 0;
        for (const [service, n] of byService) {
          services.set(k.serviceField(appId, service), n);
          appTotal += n;
        }
        apps.set(appId, appTotal);
      }
      hash(keyOf(startS, 'app'), ttlS, apps);
      hash(keyOf(startS, 'service'), ttlS, services);
    }
  }
  for (const [s, n] of d.seconds) {
    keys.push(k.secondKey(s));
    args.push(SECOND_TTL_S, 'string', 1, '', n);
  }
  return { keys, args };
}

/** Adds n to a cell; returns 1 when the cell is new. */
function add(buckets: PairCounts, startS: number, appId: string, service: string, n: number): number {
  let apps = buckets.get(startS);
  if (apps === undefined) buckets.set(startS, (apps = new Map()));
  let services = apps.get(appId);
  if (services === undefined) apps.set(appId, (services = new Map()));
  const had = services.get(service);
  services.set(service, (had ?? 0) + n);
  return had === undefined ? 1 : 0;
}

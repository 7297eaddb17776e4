/**
 * Example traces for the traffic report: per hour, app and service, the slowest traced request that was answered
 * below 500 (`slowest`) and the slowest that was answered 500 or above (`error`). A product team looking at a
 * latency or error spike in a report bucket opens these in its tracing UI (GET /reports/traffic/traces). Only
 * requests the gateway traced (a trace id in the event) count; an untraced one costs one comparison.
 */
import type { EventView } from './event-view.ts';
import { bucketStartMs } from './traffic.ts';

export const EXAMPLE_KINDS = ['slowest', 'error'] as const;
export type ExampleKind = (typeof EXAMPLE_KINDS)[number];

export interface TraceExample {
  bucketStartMs: number;
  appId: string;
  service: string;
  kind: ExampleKind;
  traceId: string;
  route: string;
  status: number;
  /** Request start, epoch ms. */
  startMs: number;
  totalUs: number;
}

/** Whether the viewed event carries a trace id. */
export function isTraced(v: EventView): boolean {
  return v.event === undefined ? v.traceLen > 0 : v.event.traceId !== '';
}

/** The viewed event's trace id: 32 hex digits, or the text the gateway recorded. */
export function traceIdOf(v: EventView): string {
  if (v.event !== undefined) return v.event.traceId;
  return v.traceRaw
    ? v.bytes.toString('hex', v.traceAt, v.traceAt + v.traceLen)
    : v.bytes.toString('utf8', v.traceAt, v.traceAt + v.traceLen);
}

function routeOf(v: EventView): string {
  return v.event !== undefined ? v.event.route : v.bytes.toString('utf8', v.routeAt, v.routeAt + v.routeLen);
}

/**
 * One batch's examples. Keyed by nested maps (hour, app, service) whose keys are the view's interned strings, so a
 * traced event that is not slower than the example it competes with allocates nothing.
 */
export class TraceExamples {
  readonly #byHour = new Map<number, Map<string, Map<string, [TraceExample?, TraceExample?]>>>();

  /** Counts `v` (a request, not an interim record) when it is traced. */
  add(v: EventView): void {
    if (!isTraced(v)) return;
    const hour = bucketStartMs('hour', v.startMs);
    let apps = this.#byHour.get(hour);
    if (apps === undefined) this.#byHour.set(hour, (apps = new Map()));
    let services = apps.get(v.appId);
    if (services === undefined) apps.set(v.appId, (services = new Map()));
    let pair = services.get(v.service);
    if (pair === undefined) services.set(v.service, (pair = [undefined, undefined]));
    const slot = v.status >= 500 ? 1 : 0;
    const held = pair[slot];
    if (held !== undefined && held.totalUs >= v.totalUs) return;
    pair[slot] = {
      bucketStartMs: hour,
      appId: v.appId,
      service: v.service,
      kind: EXAMPLE_KINDS[slot],
      traceId: traceIdOf(v),
      route: routeOf(v),
      status: v.status,
      startMs: v.startMs,
      totalUs: v.totalUs,
    };
  }

  /** The batch's examples, emptied for the next batch. */
  drain(): TraceExample[] {
    const out: TraceExample[] = [];
    for (const apps of this.#byHour.values())
      for (const services of apps.values())
        for (const pair of services.values()) for (const e of pair) if (e !== undefined) out.push(e);
    this.#byHour.clear();
    return out;
  }
}

/** Errors first, then the slowest first (ties: the earlier hour, then app and service by name); at most `limit`. */
export function rankExamples(examples: TraceExample[], limit: number): TraceExample[] {
  const order = (a: TraceExample, b: TraceExample) =>
    (a.kind === b.kind ? 0 : a.kind === 'error' ? -1 : 1) ||
    b.totalUs - a.totalUs ||
    a.bucketStartMs - b.bucketStartMs ||
    (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0) ||
    (a.service < b.service ? -1 : a.service > b.service ? 1 : 0);
  return examples.sort(order).slice(0, limit);
}

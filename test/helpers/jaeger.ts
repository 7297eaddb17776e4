// Reads traces back from the Jaeger that `npm run services:up` runs (scripts/jaeger/jaeger.yaml): what the tracing
// tests assert on is what a real OTLP receiver stored.
import { eventually } from './gateway.ts';

export const JAEGER_URL = process.env.TOLLGATE_TEST_JAEGER_URL;
export const OTLP_HTTP = 'http://127.0.0.1:4318';
export const OTLP_GRPC = 'http://127.0.0.1:4317';
export const skipWithoutJaeger =
  process.env.CI === 'true' || JAEGER_URL !== undefined
    ? false
    : 'TOLLGATE_TEST_JAEGER_URL is unset; run `npm run services:up` (it builds and starts Jaeger)';

export interface StoredSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  /** CHILD_OF references: the parent span. */
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; type: string; value: unknown }>;
  startTime: number;
  duration: number;
  processID: string;
}

export interface StoredTrace {
  spans: StoredSpan[];
  processes: Record<string, { serviceName: string; tags: Array<{ key: string; value: unknown }> }>;
}

/** The trace as Jaeger holds it once it has `spans` spans or more, else what it has after `timeoutMs`, if any. */
export async function traceOf(traceId: string, spans: number, timeoutMs = 10_000): Promise<StoredTrace | undefined> {
  let last: StoredTrace | undefined;
  await eventually(
    async () => {
      const res = await fetch(`${JAEGER_URL ?? 'http://127.0.0.1:16686'}/api/traces/${traceId}`);
      if (res.status !== 200) return false;
      last = ((await res.json()) as { data: StoredTrace[] }).data[0];
      return (last?.spans.length ?? 0) >= spans;
    },
    timeoutMs,
    100,
  );
  return last;
}

/** A span's tag value by key. */
export function tag(span: StoredSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

/** The span's parent span id within its trace, or undefined for a root. */
export function parentOf(span: StoredSpan): string | undefined {
  return span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
}

/** Trace ids Jaeger holds for a service (newest first), within the last `lookbackMs`. */
export async function tracesOfService(service: string, lookbackMs = 600_000): Promise<string[]> {
  const end = Date.now() * 1000;
  const query = `service=${encodeURIComponent(service)}&start=${end - lookbackMs * 1000}&end=${end}&limit=1000`;
  const url = `${JAEGER_URL ?? 'http://127.0.0.1:16686'}/api/traces?${query}`;
  const res = await fetch(url);
  if (res.status !== 200) return [];
  const body = (await res.json()) as { data: Array<{ traceID: string }> | null };
  return (body.data ?? []).map((t) => t.traceID);
}

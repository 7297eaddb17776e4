/**
 * Ended spans as plain data, to cross to the exporter thread (thread-exporter.ts) by structured clone, and back
 * into the shape the OTLP exporters read there. The otlp-transformer reads these fields of a ReadableSpan and no
 * others, and groups spans by the identity of their resource and scope, so one thread gives every span of a batch
 * the same resource object and one object per scope.
 */
import { type Attributes, createTraceState, type HrTime, type SpanContext, type SpanKind } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

interface WireContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  /** Serialized (a TraceState is a class, which structured clone does not keep). */
  traceState?: string;
  isRemote?: boolean;
}

export interface WireSpan {
  context: WireContext;
  parent?: WireContext;
  name: string;
  kind: SpanKind;
  startTime: HrTime;
  endTime: HrTime;
  duration: HrTime;
  status: ReadableSpan['status'];
  attributes: Attributes;
  droppedAttributesCount: number;
  events: TimedEvent[];
  droppedEventsCount: number;
  links: { context: WireContext; attributes?: Attributes; droppedAttributesCount?: number }[];
  droppedLinksCount: number;
  scope: InstrumentationScope;
}

function wireContext(c: SpanContext): WireContext {
  const out: WireContext = { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags };
  const state = c.traceState?.serialize();
  if (state) out.traceState = state;
  if (c.isRemote !== undefined) out.isRemote = c.isRemote;
  return out;
}

function spanContext(c: WireContext): SpanContext {
  const out: SpanContext = { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags };
  if (c.traceState !== undefined) out.traceState = createTraceState(c.traceState);
  if (c.isRemote !== undefined) out.isRemote = c.isRemote;
  return out;
}

export function toWire(span: ReadableSpan): WireSpan {
  const scope = span.instrumentationScope;
  return {
    context: wireContext(span.spanContext()),
    parent: span.parentSpanContext && wireContext(span.parentSpanContext),
    name: span.name,
    kind: span.kind,
    startTime: span.startTime,
    endTime: span.endTime,
    duration: span.duration,
    status: span.status,
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events,
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((l) => ({ ...l, context: wireContext(l.context) })),
    droppedLinksCount: span.droppedLinksCount,
    scope: { name: scope.name, version: scope.version, schemaUrl: scope.schemaUrl },
  };
}

/** The spans of one thread: one resource, and one object per instrumentation scope seen. */
export class SpanReader {
  readonly #resource: Resource;
  readonly #scopes = new Map<string, InstrumentationScope>();

  constructor(resource: Resource) {
    this.#resource = resource;
  }

  read(w: WireSpan): ReadableSpan {
    const context = spanContext(w.context);
    return {
      name: w.name,
      kind: w.kind,
      spanContext: () => context,
      parentSpanContext: w.parent && spanContext(w.parent),
      startTime: w.startTime,
      endTime: w.endTime,
      duration: w.duration,
      ended: true,
      status: w.status,
      attributes: w.attributes,
      droppedAttributesCount: w.droppedAttributesCount,
      events: w.events,
      droppedEventsCount: w.droppedEventsCount,
      links: w.links.map((l) => ({ ...l, context: spanContext(l.context) })),
      droppedLinksCount: w.droppedLinksCount,
      resource: this.#resource,
      instrumentationScope: this.#scope(w.scope),
    };
  }

  #scope(s: InstrumentationScope): InstrumentationScope {
    const key = `${s.name}\n${s.version ?? ''}\n${s.schemaUrl ?? ''}`;
    let scope = this.#scopes.get(key);
    if (scope === undefined) this.#scopes.set(key, (scope = s));
    return scope;
  }
}

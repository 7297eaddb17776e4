import Type from 'typebox';

/** The `tracing` section (docs/tracing.md); the standard OTEL_* variables fill in what it leaves unset. */
export const TracingSchema = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'A span for every request and every upstream attempt, exported over OTLP. Unset: on when ' +
          'OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, unless OTEL_SDK_DISABLED is ' +
          'true or OTEL_TRACES_EXPORTER is none. Applies on reload.',
      }),
    ),
    sample_ratio: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          'Share of new traces recorded; a request whose trusted parent was recorded (or not) follows its parent. ' +
          'Unset: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG decide, else every trace (1). Applies on reload.',
      }),
    ),
    trust_incoming: Type.Boolean({
      default: true,
      description:
        "A request's traceparent, tracestate and baggage continue its trace (default true). false: every request " +
        'starts a trace of its own and those headers go no further (an edge facing the internet); a route can say ' +
        'otherwise with trust_trace_context.',
    }),
    max_queue_spans: Type.Integer({
      minimum: 16,
      maximum: 1048576,
      default: 8192,
      description:
        'Ended spans waiting for export; more are dropped and counted in tollgate_tracing_spans_total' +
        '{result="dropped"} (default 8192: four export requests of 2048). Read at start: a change waits for a ' +
        'restart, even when tracing turns on after the start.',
    }),
    ui_url: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s]*\\{trace_id\\}',
        description:
          'A trace in your tracing UI, with {trace_id} where its id goes (e.g. ' +
          'http://127.0.0.1:16686/trace/{trace_id}): the console links access events to their traces.',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

import type { SpanExporter } from '@opentelemetry/sdk-trace';

type Env = Record<string, string | undefined>;

/** The OTLP exporter of the protocol the environment names (the specification's default: http/protobuf). */
export async function otlpExporter(env: Env): Promise<SpanExporter> {
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  if (protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  if (protocol !== 'http/protobuf')
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: expected grpc, http/protobuf or http/json`);
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

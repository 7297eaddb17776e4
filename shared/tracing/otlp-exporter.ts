/**
 * OTLP export in two halves. The process that makes the spans serializes each batch into the request body (the
 * gateway's own spans in protobuf as they end, encoding-processor.ts; any other batch with the SDK's serializer for
 * the protocol); the exporter's thread sends those bytes with the SDK's own transport
 * (endpoint, headers, timeout, compression, TLS and retries from the standard OTEL_EXPORTER_OTLP_* variables).
 * A batch crossing to the thread is then one byte buffer, moved, not copied: cloning the spans as objects was a
 * quarter of the proxy thread's time at 100% sampling (docs/decisions/0012-tracing.md).
 */
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

type Env = Record<string, string | undefined>;

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

/** The protocol the environment names (the specification's default: http/protobuf); throws for any other. */
export function otlpProtocol(env: Env): OtlpProtocol {
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (protocol === 'grpc' || protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: expected grpc, http/protobuf or http/json`);
}

/** One export request's body, and how many spans it holds. */
export interface SerializedBatch {
  bytes: Uint8Array;
  count: number;
}

/**
 * The body of an ExportTraceServiceRequest for `protocol`, by the SDK's serializer: JSON for http/json, protobuf for
 * the other two. The gateway's own spans reach it only with http/json; in protobuf they are encoded as they end
 * (encoding-processor.ts).
 */
export async function batchSerializer(protocol: OtlpProtocol): Promise<(spans: ReadableSpan[]) => SerializedBatch> {
  const { JsonTraceSerializer, ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
  const serializer = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  return (spans) => ({ bytes: serializer.serializeRequest(spans) ?? new Uint8Array(0), count: spans.length });
}

export interface BatchSender {
  export(batch: SerializedBatch, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** The SDK's OTLP transport for `protocol`, as its trace exporters build it, sending bodies serialized already. */
export async function otlpSender(protocol: OtlpProtocol): Promise<BatchSender> {
  const { JsonTraceSerializer, ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
  const serializer = {
    serializeRequest: (batch: SerializedBatch) => batch.bytes,
    deserializeResponse: (protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer).deserializeResponse,
  };
  const metrics = { name: 'span' as const, countItems: (batch: SerializedBatch) => batch.count };
  if (protocol === 'grpc') {
    const grpc = await import('@opentelemetry/otlp-grpc-exporter-base');
    return grpc.createOtlpGrpcExportDelegate(
      grpc.convertLegacyOtlpGrpcOptions({}, 'TRACES'),
      serializer,
      'otlp_grpc_span_exporter',
      metrics,
      undefined,
      'TraceExportService',
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    );
  }
  const http = await import('@opentelemetry/otlp-exporter-base/node-http');
  const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
  return http.createOtlpHttpExportDelegate(
    http.convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': contentType }),
    serializer,
    'otlp_http_span_exporter',
    metrics,
    undefined,
  );
}

import type { Dispatcher } from 'undici';
import { GRPC_STATUS } from '../../../../shared/grpc-status.ts';
import { grpcStatusIn } from '../../grpc/status.ts';
import { request } from '../undici.ts';

/** The largest answer read: a HealthCheckResponse is a handful of bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;
const SERVING = 1;

/** A grpc.health.v1.HealthCheckRequest naming `service` (field 1, a string), in its gRPC frame. */
export function healthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const message = name.length === 0 ? name : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** The ServingStatus of a HealthCheckResponse frame (field 1, an enum); 0 (UNKNOWN) when it has none. */
export function servingStatus(frame: Buffer): number {
  if (frame.length < 5 || frame[0] !== 0) return 0;
  const message = frame.subarray(5, 5 + frame.readUInt32BE(1));
  for (let i = 0; i < message.length; ) {
    const tag = message[i++];
    const [value, next] = readVarint(message, i);
    if (tag === 0x08) return value;
    // Another field: only varints (wire type 0) are skipped; anything else means a message we do not know.
    if ((tag & 7) !== 0) return 0;
    i = next;
  }
  return 0;
}

/**
 * One gRPC health check (grpc.health.v1.Health/Check) of `service` on an
 * HTTP/2 target: true when the call succeeds (grpc-status 0) and the answer
 * is SERVING. Rejects on connection errors and when `signal` aborts.
 */
export async function probeGrpc(
  origin: string,
  probe: { service: string; dispatcher: Dispatcher; servername?: string },
  signal: AbortSignal,
): Promise<boolean> {
  const res = await request(probe.dispatcher, {
    origin,
    path: '/grpc.health.v1.Health/Check',
    method: 'POST',
    headers: { 'content-type': 'application/grpc', te: 'trailers' },
    body: healthCheckRequest(probe.service),
    signal,
    ...(probe.servername ? { servername: probe.servername } : {}),
  } as Dispatcher.RequestOptions);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_ANSWER_BYTES) {
      res.body.destroy();
      return false;
    }
    chunks.push(chunk as Buffer);
  }
  const ok = res.statusCode === 200 && grpcStatusIn(res.trailers, res.headers) === GRPC_STATUS.OK;
  return ok && servingStatus(Buffer.concat(chunks)) === SERVING;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = at;
  while (i < buf.length && shift < 35) {
    const b = buf[i++];
    value |= (b & 0x7f) << shift;
    if (b < 0x80) return [value >>> 0, i];
    shift += 7;
  }
  return [0, buf.length];
}

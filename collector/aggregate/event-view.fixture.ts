// Records for the event-view tests (event-view.test.ts) and the cluster's raw-row writer (cluster/raw-tsv.test.ts).
import { encode } from '../../shared/access-event-codec.ts';
import { sampleEvent } from './sample-event.fixture.ts';

// The fast path (raw id, ASCII) and the decode() fallback (a text id, non-ASCII).
export const EVENTS = [
  sampleEvent(),
  sampleEvent({
    clientIp: '::ffff:10.1.2.3',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    errorClass: 'rate_limited',
    status: 429,
    upstreamStatus: 0,
  }),
  sampleEvent({ clientIp: '2001:db8::1', bytesOut: 2 ** 40, totalUs: 0, bytesIn: 2 ** 31 + 7 }),
  sampleEvent({ clientIp: 'unix:/tmp/s', route: 'tab\there\nnew\\line\r', target: '' }),
  sampleEvent({ id: 'not-a-uuid', service: 'ünïcode' }),
  sampleEvent({ traceId: 'short-trace', node: '', route: 'ünï' }),
  sampleEvent({ protocol: 'grpc', tlsVersion: 'TLSv1.3', grpcStatus: 14, grpcMethod: '/a.B/C', messagesIn: 3 }),
  sampleEvent({ protocol: 'h2', tlsVersion: 'TLSv1.2', messagesOut: 2 ** 40 }),
  sampleEvent({ protocol: 'grpc', grpcStatus: 2 ** 40, grpcMethod: '/ü.B/C' }),
  sampleEvent({ protocol: 'websocket', messagesIn: 5, closeCode: 4000, closeReason: 'client' }),
  sampleEvent({ protocol: 'tcp', interim: true, status: 200 }),
  sampleEvent({ protocol: 'tcp', closeReason: 'ünï' }),
];
export const FAST = [true, true, true, true, false, false, true, true, false, true, true, false];

/** `event` as a v1 writer stored it: v3 is v1 with another version byte and 8 or more bytes appended. */
export function v1Record(event: ReturnType<typeof sampleEvent>): Buffer {
  const v1 = Buffer.from(v2Record(event).subarray(0, -6));
  v1[0] = 1;
  return v1;
}

/** `event` as a v2 writer stored it: v3 is v2 with another version byte and 2 or more bytes appended. */
export function v2Record(event: ReturnType<typeof sampleEvent>): Buffer {
  const v3 = encode({
    ...event,
    tlsVersion: '',
    grpcMethod: '',
    grpcStatus: -1,
    messagesIn: 0,
    messagesOut: 0,
    closeCode: 0,
    closeReason: '',
    interim: false,
  });
  const v2 = Buffer.from(v3.subarray(0, -2));
  v2[0] = 2;
  return v2;
}

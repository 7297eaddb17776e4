import { type AccessEvent, PLAIN_HTTP1 } from '../../shared/access-event.ts';

/** 2025-03-10T13:25:07.123Z: an arbitrary instant inside an hour, for tests. */
export const SAMPLE_START_MS = Date.UTC(2025, 2, 10, 13, 25, 7, 123);

/** A valid, encodable access event for tests; `over` replaces fields. */
export function sampleEvent(over: Partial<AccessEvent> = {}): AccessEvent {
  return {
    id: '0195f0a0-0000-7000-8000-000000000001',
    startMs: SAMPLE_START_MS,
    node: 'n1',
    appId: 'acme',
    service: 'api',
    route: 'r',
    method: 'GET',
    status: 200,
    upstreamStatus: 200,
    totalUs: 1800,
    upstreamUs: 1500,
    gatewayUs: 300,
    bytesIn: 10,
    bytesOut: 100,
    clientIp: '127.0.0.1',
    target: 'http://127.0.0.1:1',
    errorClass: 'none',
    traceId: '',
    ...PLAIN_HTTP1,
    ...over,
  };
}

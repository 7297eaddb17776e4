// A typical event for the codec's tests.
import { type AccessEvent, PLAIN_HTTP1 } from './access-event.ts';

export const typical: AccessEvent = {
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  startMs: 1700000000123,
  node: 'gw-1',
  appId: 'app_42',
  service: 'orders',
  route: 'orders.get',
  method: 'GET',
  status: 200,
  upstreamStatus: 200,
  totalUs: 12345,
  upstreamUs: 11000,
  gatewayUs: 1345,
  bytesIn: 0,
  bytesOut: 4821,
  clientIp: '::ffff:203.0.113.7',
  target: 'http://10.0.3.17:8080',
  errorClass: 'none',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  ...PLAIN_HTTP1,
};

/** A gRPC call over TLS, as a v2 writer records it. */
export const grpcCall: AccessEvent = {
  ...typical,
  method: 'POST',
  route: 'greeter',
  protocol: 'grpc',
  tlsVersion: 'TLSv1.3',
  grpcStatus: 14,
  grpcMethod: '/helloworld.Greeter/SayHello',
  messagesIn: 3,
  messagesOut: 1,
};

import type { RouteStage } from '../../pipeline.ts';
import { parseGrpcTimeout } from '../../grpc/timeout.ts';

/**
 * gRPC at the door of a route (the route's `grpc` option is its setting): a
 * route for gRPC only refuses anything else, and a call's deadline
 * (grpc-timeout) is read from its arrival, a malformed one refused, before any
 * other stage spends work on it. The proxy stage holds the call to the
 * deadline and sends the time left upstream.
 */
export const grpc: RouteStage = {
  name: 'grpc',
  scope: 'route',
  init: (route) => {
    const only = route.config.grpc;
    return (ctx) => {
      if (!ctx.grpc) return only ? ctx.reply('GW_ERR_NOT_GRPC') : undefined;
      const timeoutMs = parseGrpcTimeout(ctx.headers['grpc-timeout']);
      if (timeoutMs === 'invalid') return ctx.reply('GW_ERR_GRPC_TIMEOUT_INVALID');
      if (timeoutMs !== undefined) ctx.grpcDeadlineMs = ctx.startMs + timeoutMs;
    };
  },
};

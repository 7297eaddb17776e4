import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../../types.ts';
import { errorResponses, UpstreamHealth } from '../schemas.ts';
import { wantsOpenMetrics } from '../../../proxy/tracing/openmetrics.ts';

const METRICS_SLICE = 256 * 1024;

/** `text` in slices of about `size` UTF-16 units, never between the two halves of a surrogate pair. */
export function* slices(text: string, size: number): Generator<string> {
  for (let i = 0; i < text.length; ) {
    let end = Math.min(i + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(i, end);
    i = end;
  }
}

/** Probes, metrics, live upstream health and the OpenAPI document; `token`: the admin token served now, which
 * /openapi.json's `security` follows. */
export function opsRoutes(app: FastifyInstance, control: ControlPlane, token: () => string | undefined): void {
  const Status = { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } as const;

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the admin listener answers.',
        tags: ['ops'],
        security: [],
        response: { 200: Status },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: a config is compiled and the proxy listener accepts connections.',
        tags: ['ops'],
        security: [],
        response: { 200: Status, 503: Status },
      },
    },
    async (_req, reply) => (control.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'not_ready' })),
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary:
          'Prometheus text exposition of every gateway process; OpenMetrics, with exemplars, for an Accept that asks.',
        tags: ['ops'],
        response: { 200: { type: 'string', description: 'Prometheus text format.' }, ...errorResponses() },
      },
    },
    async (req, reply) => {
      const { contentType, body } = await control.metrics(wantsOpenMetrics(req.headers.accept));
      // A large text goes out in slices, each encoded as the socket takes it: 20 MB (10,000 routes) encoded at once
      // held
      // the event loop for 115-130 ms.
      if (body.length > METRICS_SLICE) return reply.type(contentType).send(Readable.from(slices(body, METRICS_SLICE)));
      // Bypass the JSON serializer: the body is already Prometheus text.
      return reply
        .type(contentType)
        .serializer((payload) => payload as string)
        .send(body);
    },
  );

  app.get(
    '/health',
    {
      schema: {
        summary: 'Live state of every upstream target.',
        tags: ['upstreams'],
        response: { 200: { type: 'array', items: UpstreamHealth }, ...errorResponses() },
      },
    },
    async () => control.health(),
  );

  app.get(
    '/openapi.json',
    {
      schema: { summary: 'This API as an OpenAPI 3.1 document.', tags: ['ops'], response: errorResponses() },
    },
    // The document is built once; whether a token is asked for follows reloads of admin.token.
    async () => ({ ...app.swagger(), security: token() ? [{ bearer: [] }] : [] }),
  );
}

import type { FastifyInstance } from 'fastify';
import type { ControlPlane, TargetHealth } from '../../types.ts';
import { sendError } from '../replies.ts';
import { ifMatchOf, IfMatchHeaders, sendEditResult } from '../edits.ts';
import { errorResponses, ServiceParam, UpstreamBody, UpstreamView, AppliedVersion } from '../schemas.ts';
import { servicesOf, servingServices, withServices, type RawService } from './services.ts';

// biome-ignore lint/suspicious/noRedeclare: the reply's static type, beside the TypeBox schema of the same name
interface UpstreamView {
  service: string;
  upstream: Record<string, unknown>;
  health: TargetHealth[];
}

function view(service: RawService, health: Map<string, TargetHealth[]>): UpstreamView {
  const name = String(service.name);
  const upstream =
    typeof service.upstream === 'object' && service.upstream !== null
      ? (service.upstream as Record<string, unknown>)
      : {};
  return { service: name, upstream, health: health.get(name) ?? [] };
}

function healthByService(control: ControlPlane): Map<string, TargetHealth[]> {
  return new Map(control.health().map((h) => [h.service, h.targets]));
}

/** Each service's upstream as configured, beside its live target health; replacing one applies the whole config. */
export function upstreamRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get(
    '/upstreams',
    {
      schema: {
        summary: "Every service's upstream with live target health; the ETag is the config version.",
        tags: ['upstreams'],
        response: { 200: { type: 'array', items: UpstreamView }, ...errorResponses() },
      },
    },
    async (_req, reply) => {
      const health = healthByService(control);
      return servingServices(control, reply).map((s) => view(s, health));
    },
  );

  app.get<{ Params: { service: string } }>(
    '/upstreams/:service',
    {
      schema: {
        summary: "One service's upstream with live target health; the ETag is the config version.",
        tags: ['upstreams'],
        params: ServiceParam,
        response: { 200: UpstreamView, ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      const service = servingServices(control, reply).find((s) => s.name === req.params.service);
      if (!service) return sendError(reply, 'GW_ERR_NOT_FOUND', `no service named "${req.params.service}"`);
      return view(service, healthByService(control));
    },
  );

  app.put<{ Params: { service: string }; Body: Record<string, unknown> }>(
    '/upstreams/:service',
    {
      schema: {
        summary: "Replaces one service's upstream and applies the whole config.",
        tags: ['upstreams'],
        params: ServiceParam,
        headers: IfMatchHeaders,
        body: UpstreamBody,
        response: { 200: AppliedVersion, ...errorResponses(400, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      const name = req.params.service;
      const result = await control.edit(
        (serving) => {
          const services = [...servicesOf(serving)];
          const i = services.findIndex((s) => s.name === name);
          if (i === -1) return { notFound: `no service named "${name}"` };
          services[i] = { ...services[i], upstream: req.body };
          return { config: withServices(serving, services) };
        },
        `PUT /upstreams/${name}`,
        ifMatchOf(req),
      );
      return sendEditResult(reply, result);
    },
  );
}

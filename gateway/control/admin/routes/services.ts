import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ControlPlane, RawConfig } from '../../types.ts';
import { sendError } from '../replies.ts';
import { etagOf, ifMatchOf, IfMatchHeaders, sendEditResult } from '../edits.ts';
import { AppliedVersion, errorResponses, NameParam, ServiceBody } from '../schemas.ts';

export type RawService = Record<string, unknown> & { name?: unknown };

/** A config's services as written (before defaults); a missing list is an empty one. */
export function servicesOf(config: RawConfig): RawService[] {
  return Array.isArray(config.services) ? (config.services as RawService[]) : [];
}

/** A copy of `config` with `services` replaced; the serving config is never mutated. */
export function withServices(config: RawConfig, services: RawService[]): RawConfig {
  return { ...config, services };
}

/** The serving config's services, with its version as the reply's ETag. */
export function servingServices(control: ControlPlane, reply: FastifyReply): RawService[] {
  const serving = control.current();
  reply.header('etag', etagOf(serving.version));
  return servicesOf(serving.config);
}

/**
 * Services: list, read, insert or replace one, delete one. Every edit reads
 * and applies the whole config inside the apply queue, so parallel edits of
 * different services all land.
 */
export function serviceRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get(
    '/services',
    {
      schema: {
        summary: 'Every configured service; the ETag is the config version.',
        tags: ['services'],
        response: { 200: { type: 'array', items: ServiceBody }, ...errorResponses() },
      },
    },
    async (_req, reply) => servingServices(control, reply),
  );

  app.get<{ Params: { name: string } }>(
    '/services/:name',
    {
      schema: {
        summary: 'One service; the ETag is the config version.',
        tags: ['services'],
        params: NameParam,
        response: { 200: ServiceBody, ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      const service = servingServices(control, reply).find((s) => s.name === req.params.name);
      return service ?? sendError(reply, 'GW_ERR_NOT_FOUND', `no service named "${req.params.name}"`);
    },
  );

  app.put<{ Params: { name: string }; Body: RawService }>(
    '/services/:name',
    {
      schema: {
        summary: 'Inserts or replaces one service and applies the whole config.',
        tags: ['services'],
        params: NameParam,
        headers: IfMatchHeaders,
        body: ServiceBody,
        response: { 200: AppliedVersion, ...errorResponses(400, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      if (req.body.name !== undefined && req.body.name !== name) {
        return sendError(
          reply,
          'GW_ERR_BAD_REQUEST',
          `name in the body ("${String(req.body.name)}") does not match the URL ("${name}")`,
          [{ path: '/name', message: `must equal "${name}" from the URL` }],
        );
      }
      const service = { ...req.body, name };
      const result = await control.edit(
        (serving) => {
          const services = [...servicesOf(serving)];
          const i = services.findIndex((s) => s.name === name);
          if (i === -1) services.push(service);
          else services[i] = service;
          return { config: withServices(serving, services) };
        },
        `PUT /services/${name}`,
        ifMatchOf(req),
      );
      return sendEditResult(reply, result);
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/services/:name',
    {
      schema: {
        summary: 'Removes one service and applies the whole config.',
        tags: ['services'],
        params: NameParam,
        headers: IfMatchHeaders,
        response: { 200: AppliedVersion, ...errorResponses(400, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      const result = await control.edit(
        (serving) => {
          const services = servicesOf(serving);
          if (!services.some((s) => s.name === name)) return { notFound: `no service named "${name}"` };
          return {
            config: withServices(
              serving,
              services.filter((s) => s.name !== name),
            ),
          };
        },
        `DELETE /services/${name}`,
        ifMatchOf(req),
      );
      return sendEditResult(reply, result);
    },
  );
}

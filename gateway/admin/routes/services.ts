import type { FastifyInstance } from 'fastify';
import type { ControlPlane, RawConfig } from '../../control/types.ts';
import { sendError } from '../replies.ts';
import { errorResponses, NameParam, ServiceBody, VersionSummary } from '../schemas.ts';
import { sendApplyResult } from './config.ts';

export type RawService = Record<string, unknown> & { name?: unknown };

/** The serving config's services as written (before defaults); a missing list is an empty one. */
export function currentServices(control: ControlPlane): RawService[] {
  const services = control.current().config.services;
  return Array.isArray(services) ? (services as RawService[]) : [];
}

/** A copy of the serving config with `services` replaced; the serving config is never mutated. */
export function withServices(control: ControlPlane, services: RawService[]): RawConfig {
  return { ...control.current().config, services };
}

/** Services: list, read, insert or replace one, delete one. Every edit applies the whole config. */
export function serviceRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get('/services', {
    schema: { summary: 'Every configured service.', tags: ['services'], response: { 200: { type: 'array', items: ServiceBody }, ...errorResponses() } },
  }, async () => currentServices(control));

  app.get<{ Params: { name: string } }>('/services/:name', {
    schema: { summary: 'One service.', tags: ['services'], params: NameParam, response: { 200: ServiceBody, ...errorResponses(404) } },
  }, async (req, reply) => {
    const service = currentServices(control).find((s) => s.name === req.params.name);
    return service ?? sendError(reply, 'GW_ERR_NOT_FOUND', `no service named "${req.params.name}"`);
  });

  app.put<{ Params: { name: string }; Body: RawService }>('/services/:name', {
    schema: {
      summary: 'Inserts or replaces one service and applies the whole config.',
      tags: ['services'],
      params: NameParam,
      body: ServiceBody,
      response: { 200: VersionSummary, ...errorResponses(400, 413) },
    },
  }, async (req, reply) => {
    const { name } = req.params;
    if (req.body.name !== undefined && req.body.name !== name) {
      return sendError(reply, 'GW_ERR_BAD_REQUEST', `name in the body ("${String(req.body.name)}") does not match the URL ("${name}")`, [
        { path: '/name', message: `must equal "${name}" from the URL` },
      ]);
    }
    const service = { ...req.body, name };
    const services = [...currentServices(control)];
    const i = services.findIndex((s) => s.name === name);
    if (i === -1) services.push(service);
    else services[i] = service;
    return sendApplyResult(reply, await control.apply(withServices(control, services), 'admin', `PUT /services/${name}`));
  });

  app.delete<{ Params: { name: string } }>('/services/:name', {
    schema: {
      summary: 'Removes one service and applies the whole config.',
      tags: ['services'],
      params: NameParam,
      response: { 200: VersionSummary, ...errorResponses(400, 404) },
    },
  }, async (req, reply) => {
    const { name } = req.params;
    const services = currentServices(control);
    if (!services.some((s) => s.name === name)) return sendError(reply, 'GW_ERR_NOT_FOUND', `no service named "${name}"`);
    const rest = services.filter((s) => s.name !== name);
    return sendApplyResult(reply, await control.apply(withServices(control, rest), 'admin', `DELETE /services/${name}`));
  });
}

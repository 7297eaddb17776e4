import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApplyResult, ControlPlane } from '../../control/types.ts';
import { sendError } from '../replies.ts';
import { ConfigBody, errorResponses, VersionSummary, VersionWithConfig } from '../schemas.ts';

/** Replies to an apply: the new version, or 400 with every field error. */
export function sendApplyResult(reply: FastifyReply, result: ApplyResult): FastifyReply {
  if (result.ok) return reply.send(result.version);
  const n = result.errors.length;
  return sendError(reply, 'GW_ERR_CONFIG_INVALID', `config rejected with ${n} error${n === 1 ? '' : 's'}; the previous config keeps serving`, result.errors);
}

/** The whole config: read, validate, replace, history and rollback. */
export function configRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get('/config', {
    schema: { summary: 'The config version now serving.', tags: ['config'], response: { 200: VersionWithConfig, ...errorResponses() } },
  }, async () => control.current());

  app.post('/config/validate', {
    schema: {
      summary: 'Checks a config without applying it.',
      tags: ['config'],
      body: ConfigBody,
      response: {
        200: { type: 'object', required: ['valid'], properties: { valid: { type: 'boolean', enum: [true] } } },
        ...errorResponses(400, 413),
      },
    },
  }, async (req, reply) => {
    const errors = control.validate(req.body);
    if (errors.length === 0) return { valid: true };
    return sendError(reply, 'GW_ERR_CONFIG_INVALID', `config has ${errors.length} error${errors.length === 1 ? '' : 's'}`, errors);
  });

  app.put('/config', {
    schema: {
      summary: 'Replaces the whole config; applied atomically or not at all.',
      tags: ['config'],
      body: ConfigBody,
      response: { 200: VersionSummary, ...errorResponses(400, 413) },
    },
  }, async (req, reply) => sendApplyResult(reply, await control.apply(req.body, 'admin', 'PUT /config')));

  app.get<{ Querystring: { limit: number } }>('/config/history', {
    schema: {
      summary: 'Applied config versions, newest first.',
      tags: ['config'],
      querystring: {
        type: 'object',
        properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20, description: 'Versions to return (default 20).' } },
      },
      response: { 200: { type: 'array', items: VersionSummary }, ...errorResponses(400) },
    },
  }, async (req) => control.history(req.query.limit));

  app.post<{ Body: { version: number } }>('/config/rollback', {
    schema: {
      summary: 'Applies an earlier version again, as a new version.',
      tags: ['config'],
      body: {
        type: 'object',
        required: ['version'],
        additionalProperties: false,
        properties: { version: { type: 'integer', minimum: 1, description: 'Version to return to.' } },
      },
      response: { 200: VersionSummary, ...errorResponses(400, 404) },
    },
  }, async (req, reply) => {
    const result = await control.rollback(req.body.version);
    if (!result) return sendError(reply, 'GW_ERR_NOT_FOUND', `config version ${req.body.version} is not in the history`);
    return sendApplyResult(reply, result);
  });
}

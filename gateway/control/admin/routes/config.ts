import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../../types.ts';
import { sendError } from '../replies.ts';
import { etagOf, ifMatchOf, IfMatchHeaders, sendEditResult } from '../edits.ts';
import {
  AppliedVersion,
  ConfigBody,
  errorResponses,
  ServingVersion,
  VersionSummary,
  VersionWithConfig,
} from '../schemas.ts';

/** The whole config: read, validate, replace, history and rollback. */
export function configRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get(
    '/config',
    {
      schema: {
        summary: 'The config version now serving; its ETag is the version.',
        tags: ['config'],
        response: { 200: ServingVersion, ...errorResponses() },
      },
    },
    async (_req, reply) => {
      const serving = control.current();
      reply.header('etag', etagOf(serving.version));
      const pending = control.restartPending?.() ?? [];
      return pending.length > 0 ? { ...serving, restartPending: pending } : serving;
    },
  );

  app.post(
    '/config/validate',
    {
      schema: {
        summary: 'Checks a config without applying it.',
        tags: ['config'],
        body: ConfigBody,
        response: {
          200: { type: 'object', required: ['valid'], properties: { valid: { type: 'boolean', enum: [true] } } },
          ...errorResponses(400),
        },
      },
    },
    async (req, reply) => {
      const errors = await control.validate(req.body);
      if (errors.length === 0) return { valid: true };
      return sendError(
        reply,
        'GW_ERR_CONFIG_INVALID',
        `config has ${errors.length} error${errors.length === 1 ? '' : 's'}`,
        errors,
      );
    },
  );

  app.put(
    '/config',
    {
      schema: {
        summary: 'Replaces the whole config; applied atomically or not at all.',
        tags: ['config'],
        headers: IfMatchHeaders,
        body: ConfigBody,
        response: { 200: AppliedVersion, ...errorResponses(400, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      const body = req.body as Record<string, unknown>;
      return sendEditResult(reply, await control.edit(() => ({ config: body }), 'PUT /config', ifMatchOf(req)));
    },
  );

  app.get(
    '/config/tls/certificates',
    {
      schema: {
        summary:
          "The certificates the listeners, TLS streams and the admin listener serve, as the serving config's " +
          'files read: subject, issuer, DNS names, key type, expiry; the soonest to expire first.',
        tags: ['config'],
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                served_by: { type: 'string', description: '`listeners/<name>`, `streams/<name>` or `admin`.' },
                file: { type: 'string' },
                subject: { type: 'string' },
                issuer: { type: 'string' },
                names: { type: 'array', items: { type: 'string' } },
                key_type: { type: 'string', description: '`ec`, `rsa`, `ed25519`, …' },
                not_after: { type: 'string', format: 'date-time' },
                expires_in_s: { type: 'integer', description: 'Negative once expired.' },
                ocsp_stapling: { type: 'boolean' },
              },
            },
          },
          ...errorResponses(),
        },
      },
    },
    async () => control.certificates(),
  );

  app.get<{ Querystring: { limit: number } }>(
    '/config/history',
    {
      schema: {
        summary: 'Applied config versions, newest first.',
        tags: ['config'],
        querystring: {
          type: 'object',
          properties: {
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: 1000,
              default: 20,
              description: 'Versions to return (default 20).',
            },
          },
        },
        response: { 200: { type: 'array', items: VersionSummary }, ...errorResponses(400, 503) },
      },
    },
    async (req) => control.history(req.query.limit),
  );

  app.get<{ Params: { version: number } }>(
    '/config/history/:version',
    {
      schema: {
        summary: 'One version of the history with its whole config (what a rollback to it would apply).',
        tags: ['config'],
        params: {
          type: 'object',
          required: ['version'],
          properties: { version: { type: 'integer', minimum: 1, description: 'Config version.' } },
        },
        response: { 200: VersionWithConfig, ...errorResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const v = await control.version(req.params.version);
      if (!v) return sendError(reply, 'GW_ERR_NOT_FOUND', `config version ${req.params.version} is not in the history`);
      return reply.header('etag', etagOf(control.current().version)).send(v);
    },
  );

  app.post(
    '/config/tls/reload',
    {
      schema: {
        summary:
          "Reads the TLS files again (listeners', TLS streams' and the admin listener's certificates, client CAs, " +
          "CRLs and session ticket keys, upstreams' CA bundles and client certificates), as SIGHUP and the file " +
          'watch do. New content is checked whole and ' +
          'serves new connections (open ones keep theirs); content that is refused leaves the previous files ' +
          'serving.',
        tags: ['config'],
        response: { 200: AppliedVersion, ...errorResponses(400, 503) },
      },
    },
    async (_req, reply) => {
      const result = await control.reloadTlsFiles();
      if (result.ok) return result.version;
      const n = result.errors.length;
      return sendError(
        reply,
        'GW_ERR_CONFIG_INVALID',
        `the TLS files have ${n} error${n === 1 ? '' : 's'}; the previous ones keep serving`,
        result.errors,
      );
    },
  );

  app.post<{ Body: { version: number } }>(
    '/config/rollback',
    {
      schema: {
        summary: 'Applies an earlier version again, as a new version.',
        tags: ['config'],
        headers: IfMatchHeaders,
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: { version: { type: 'integer', minimum: 1, description: 'Version to return to.' } },
        },
        response: { 200: AppliedVersion, ...errorResponses(400, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      const result = await control.rollback(req.body.version, ifMatchOf(req));
      if (!result)
        return sendError(reply, 'GW_ERR_NOT_FOUND', `config version ${req.body.version} is not in the history`);
      return sendEditResult(reply, result);
    },
  );
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type AppInput, type IdentityManager, type IdentityPart } from '../../apps/manager.ts';
import type { StoredKey } from '../../apps/doc.ts';
import { currentKey } from '../../apps/keys.ts';
import type { App } from '../../apps/types.ts';
import { sendError } from '../replies.ts';
import {
  APPS_ETAG_PREFIX,
  AppsIfMatchHeaders,
  KEYS_ETAG_PREFIX,
  KeysIfMatchHeaders,
  etagOf,
  ifMatchOf,
} from '../edits.ts';
import { errorResponses } from '../schemas.ts';
import { cidrErrors } from '../../../proxy/net/cidr.ts';
import {
  AppBody,
  AppView,
  CreateBody,
  IdParam,
  KeysRotateQuery,
  KeyView,
  RotateQuery,
  WithSecret,
} from './app-schemas.ts';

const iso = (ms: number) => new Date(ms).toISOString();

function view(app: App) {
  return {
    id: app.id,
    name: app.name,
    status: app.status,
    allowed_ips: app.allowedIps,
    roles: app.roles,
    ...(app.qps === undefined ? {} : { qps: app.qps }),
    ...(app.burst === undefined ? {} : { burst: app.burst }),
    ...(app.qpd === undefined ? {} : { qpd: app.qpd }),
    secrets: app.secrets.map((s) => ({
      created_at: iso(s.createdAt),
      ...(s.expiresAt === undefined ? {} : { expires_at: iso(s.expiresAt) }),
    })),
    created_at: iso(app.createdAt),
    updated_at: iso(app.updatedAt),
  };
}

function keyView(k: StoredKey, current: StoredKey | undefined) {
  return {
    kid: k.kid,
    alg: k.alg,
    current: k === current,
    created_at: iso(k.createdAt),
    ...(k.retiredAt === undefined ? {} : { retired_at: iso(k.retiredAt) }),
  };
}

const appsEtag = (version: number) => etagOf(version, APPS_ETAG_PREFIX);
const keysEtag = (version: number) => etagOf(version, KEYS_ETAG_PREFIX);

/** The If-Match of an apps write: the apps versions it names (`"apps-7"`); undefined when absent or `*`. */
const appsIfMatch = (req: FastifyRequest) => ifMatchOf(req, APPS_ETAG_PREFIX);

function appErrorReply(reply: FastifyReply, err: unknown, part: IdentityPart = 'apps') {
  if (!(err instanceof AppError)) throw err;
  if (err.kind === 'not_found') return sendError(reply, 'GW_ERR_NOT_FOUND', err.message);
  if (err.kind === 'version_mismatch' || err.kind === 'conflict') {
    const etag = (part === 'apps' ? appsEtag : keysEtag)(err.serving!);
    reply.header('etag', etag);
    return sendError(
      reply,
      err.kind === 'conflict' ? 'GW_ERR_CONFIG_CONFLICT' : 'GW_ERR_CONFIG_VERSION_MISMATCH',
      `${err.message} (ETag ${etag})`,
    );
  }
  return sendError(reply, 'GW_ERR_BAD_REQUEST', err.message, [
    { path: err.kind === 'exists' ? '/id' : '/', message: err.message },
  ]);
}

/** Addresses or CIDRs, checked by the parser the gateway matches them with; the schema cannot say it, so the route
 * names the bad entry. */
function checkIps(reply: FastifyReply, body: AppInput) {
  const [bad] = cidrErrors(body.allowed_ips ?? []);
  if (bad === undefined) return undefined;
  const i = bad.index;
  const message = `"${body.allowed_ips![i]}" is not an IP address or CIDR: ${bad.message}`;
  return sendError(reply, 'GW_ERR_BAD_REQUEST', `invalid body: /allowed_ips/${i} ${message}`, [
    { path: `/allowed_ips/${i}`, message },
  ]);
}

/**
 * Tenants (apps with secrets) and the gateway's signing keys. Secrets are
 * returned once, at creation and rotation. Like config edits: every GET of
 * apps carries the apps version as its ETag (`"apps-7"`), as does the reply
 * of every write, and a write with If-Match is refused with 412 once the apps
 * are at another version (any app's change, on any node). The keys have a
 * version of their own (`"keys-3"`, moved by rotations only) with the same
 * rules, so a scheduled rotation never fails an apps write's If-Match.
 */
export function appRoutes(app: FastifyInstance, identity: IdentityManager): void {
  app.get(
    '/apps',
    {
      schema: {
        summary: 'Every app (no secrets); the ETag is the apps version.',
        tags: ['apps'],
        response: { 200: { type: 'array', items: AppView }, ...errorResponses() },
      },
    },
    async (_req, reply) => {
      reply.header('etag', appsEtag(identity.appsVersion()));
      return identity.list().map(view);
    },
  );

  app.post<{ Body: AppInput & { id?: string } }>(
    '/apps',
    {
      schema: {
        summary: 'Creates an app; the reply holds its secret, shown only this once.',
        tags: ['apps'],
        headers: AppsIfMatchHeaders,
        body: CreateBody,
        response: { 201: WithSecret, ...errorResponses(400, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      if (checkIps(reply, req.body)) return reply;
      try {
        const { app: created, secret, version } = await identity.create(req.body, req.body.id, appsIfMatch(req));
        return reply
          .code(201)
          .header('etag', appsEtag(version))
          .send({ app: view(created), secret });
      } catch (err) {
        return appErrorReply(reply, err);
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/apps/:id',
    {
      schema: {
        summary: 'One app (no secret); the ETag is the apps version.',
        tags: ['apps'],
        params: IdParam,
        response: { 200: AppView, ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      reply.header('etag', appsEtag(identity.appsVersion()));
      const found = identity.get(req.params.id);
      return found ? view(found) : sendError(reply, 'GW_ERR_NOT_FOUND', `no app with id "${req.params.id}"`);
    },
  );

  app.put<{ Params: { id: string }; Body: AppInput }>(
    '/apps/:id',
    {
      schema: {
        summary:
          "Replaces an app's fields (secrets are kept); takes effect on every node within a second, on what it has " +
          'open too.',
        tags: ['apps'],
        params: IdParam,
        headers: AppsIfMatchHeaders,
        body: AppBody,
        response: { 200: AppView, ...errorResponses(400, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      if (checkIps(reply, req.body)) return reply;
      try {
        const { app: updated, version } = await identity.update(req.params.id, req.body, appsIfMatch(req));
        return reply.header('etag', appsEtag(version)).send(view(updated));
      } catch (err) {
        return appErrorReply(reply, err);
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/apps/:id',
    {
      schema: {
        summary: 'Deletes an app; its tokens and keys stop working on every node within a second.',
        tags: ['apps'],
        params: IdParam,
        headers: AppsIfMatchHeaders,
        response: { 204: { type: 'null' }, ...errorResponses(400, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      try {
        const { version } = await identity.remove(req.params.id, appsIfMatch(req));
        return reply.code(204).header('etag', appsEtag(version)).send();
      } catch (err) {
        return appErrorReply(reply, err);
      }
    },
  );

  app.post<{ Params: { id: string }; Querystring: { overlap_s?: number } }>(
    '/apps/:id/secret',
    {
      schema: {
        summary:
          "Rotates the app's secret; the previous one works for the overlap window, then what it holds open ends.",
        tags: ['apps'],
        params: IdParam,
        headers: AppsIfMatchHeaders,
        querystring: RotateQuery,
        response: { 200: WithSecret, ...errorResponses(400, 404, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      try {
        const {
          app: rotated,
          secret,
          version,
        } = await identity.rotateSecret(req.params.id, req.query.overlap_s, appsIfMatch(req));
        return reply.header('etag', appsEtag(version)).send({ app: view(rotated), secret });
      } catch (err) {
        return appErrorReply(reply, err);
      }
    },
  );

  app.get(
    '/keys',
    {
      schema: {
        summary: "The gateway's signing keys (public metadata only); the ETag is the keys version.",
        tags: ['keys'],
        response: { 200: { type: 'array', items: KeyView }, ...errorResponses() },
      },
    },
    async (_req, reply) => {
      reply.header('etag', keysEtag(identity.keysVersion()));
      const keys = identity.keys();
      const current = currentKey(keys);
      return keys.map((k) => keyView(k, current));
    },
  );

  app.post<{ Querystring: { revoke_previous?: boolean } }>(
    '/keys/rotate',
    {
      schema: {
        summary:
          'Makes a new signing key current; tokens signed with the previous one verify until they expire, or ' +
          'with revoke_previous not at all. The ETag is the new keys version; the apps version does not move.',
        tags: ['keys'],
        headers: KeysIfMatchHeaders,
        querystring: KeysRotateQuery,
        response: { 200: KeyView, ...errorResponses(400, 409, 412, 503) },
      },
    },
    async (req, reply) => {
      try {
        const revoke = req.query.revoke_previous === true;
        const { key, version } = await identity.rotateKeys(ifMatchOf(req, KEYS_ETAG_PREFIX), revoke);
        return reply.header('etag', keysEtag(version)).send(keyView(key, key));
      } catch (err) {
        return appErrorReply(reply, err, 'keys');
      }
    },
  );
}

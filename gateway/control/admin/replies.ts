import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { errors, type ErrorCode } from '../../errors.ts';
import type { ConfigError } from '../types.ts';
import { ErrorReply } from './schemas.ts';

/** Keys that could reach an object's prototype if a body were ever merged into one. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The default of `admin.max_body_bytes`: a whole config of ~40,000 services as JSON (5,000 services took 955 KB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Every error reply the admin API writes: `{code, message, errors?, request_id}`. */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message?: string,
  fieldErrors?: ConfigError[],
): FastifyReply {
  const body: Record<string, unknown> = { code, message: message ?? errors[code].message };
  if (fieldErrors) body.errors = fieldErrors;
  body.request_id = reply.request.id;
  return reply.code(errors[code].status).type('application/json; charset=utf-8').send(body);
}

class BodyError extends Error {
  readonly statusCode = 400;
}

/** Deeper than any config or app document goes (a config nests ~8 levels); past it the body is refused. */
const MAX_DEPTH = 64;

/**
 * JSON.parse keeps `__proto__` as a plain own key, so one walk rejects all
 * three poisoning keys and names where they are, and a body nested past
 * MAX_DEPTH (whose validation and copies would overflow the stack: a 500
 * rather than a 400 that says why). Iterative: a deeply nested body must not
 * overflow the stack here.
 */
function findBadKey(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth === MAX_DEPTH) return `body nested deeper than ${MAX_DEPTH} levels at ${item.path}`;
    for (const key of Object.keys(item.value)) {
      const path = `${item.path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (FORBIDDEN_KEYS.has(key))
        return `forbidden key at ${path}: __proto__, constructor and prototype are not allowed`;
      stack.push({ value: (item.value as Record<string, unknown>)[key], path, depth: item.depth + 1 });
    }
  }
  return undefined;
}

function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new BodyError('request body is empty; send a JSON document');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BodyError(`malformed JSON body: ${(err as Error).message}`);
  }
  const bad = findBadKey(value);
  if (bad !== undefined) throw new BodyError(bad);
  return value;
}

/**
 * Replaces fastify's JSON parser so a malformed body's reply says what is wrong with it, and drops its text/plain
 * one: every admin body is JSON, so any other type gets 415 rather than a schema error about a string.
 */
export function installJsonParser(app: FastifyInstance, bodyLimit = MAX_BODY_BYTES): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/**
 * Every route that takes a body can answer 413 and 415, so its OpenAPI entry says so without each route listing
 * them. Register before the routes: fastify runs onRoute hooks only for routes added after them.
 */
export function documentBodyErrors(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.schema?.body) return;
    const response = (route.schema.response ??= {}) as Record<number, unknown>;
    response[413] ??= ErrorReply;
    response[415] ??= ErrorReply;
  });
}

/**
 * Maps everything fastify or a route throws onto the error registry; 5xx
 * bodies stay opaque. A route's error may name its reply: `statusCode` 4xx
 * answers GW_ERR_BAD_REQUEST with its message, and `replyCode` answers that
 * registry code with its message (which must name nothing internal; the cause
 * of a 5xx goes to the log).
 */
export function installErrorReplies(app: FastifyInstance): void {
  // Each route's path, as a pattern, with the methods it answers: a known path asked with another method gets 405.
  const routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  app.addHook('onRoute', (route) => {
    const source = `^${route.url
      .split('/')
      .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}$`;
    let entry = routes.find((r) => r.pattern.source === source);
    if (entry === undefined) routes.push((entry = { pattern: new RegExp(source), methods: new Set() }));
    for (const method of [route.method].flat()) entry.methods.add(method);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = new Set<string>();
    for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size === 0) return sendError(reply, 'GW_ERR_NOT_FOUND', `no admin route ${req.method} ${path}`);
    const allow = [...allowed].sort().join(', ');
    reply.header('allow', allow);
    return sendError(reply, 'GW_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; it takes ${allow}`);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const where = err.validationContext ?? 'request';
      const fieldErrors = err.validation.map((v) => ({
        path: `${where === 'body' ? '' : `/${where}`}${v.instancePath || ''}${propertyOf(v.params)}`,
        message: v.message ?? 'is invalid',
      }));
      return sendError(
        reply,
        'GW_ERR_BAD_REQUEST',
        `invalid ${where}: ${fieldErrors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`,
        fieldErrors,
      );
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(
          reply,
          'GW_ERR_BODY_TOO_LARGE',
          `request body exceeds ${reply.server.initialConfig.bodyLimit ?? MAX_BODY_BYTES} bytes (admin.max_body_bytes)`,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(
          reply,
          'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
          `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted; send application/json`,
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 'GW_ERR_BAD_REQUEST', 'request body is empty; send a JSON document');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 'GW_ERR_BAD_REQUEST', 'malformed JSON body');
    }
    const replyCode = (err as { replyCode?: ErrorCode }).replyCode;
    if (replyCode !== undefined && Object.hasOwn(errors, replyCode)) {
      if (errors[replyCode].status >= 500) req.log.warn({ err: err.cause ?? err }, err.message);
      return sendError(reply, replyCode, err.message);
    }
    const status = err.statusCode ?? 500;
    if (status === 404) return sendError(reply, 'GW_ERR_NOT_FOUND');
    if (status === 413) return sendError(reply, 'GW_ERR_BODY_TOO_LARGE');
    if (status >= 400 && status < 500) return sendError(reply, 'GW_ERR_BAD_REQUEST', err.message);
    req.log.error({ err }, 'admin request failed');
    return sendError(reply, 'GW_ERR_INTERNAL');
  });
}

/** Required and unknown properties are reported at the property itself, not at its parent. */
function propertyOf(params: unknown): string {
  const p = params as { missingProperty?: unknown; additionalProperty?: unknown } | undefined;
  const key = p?.missingProperty ?? p?.additionalProperty;
  return typeof key === 'string' ? `/${key}` : '';
}

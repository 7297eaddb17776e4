import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EditResult } from '../types.ts';
import { sendError } from './replies.ts';

/**
 * Optimistic concurrency: every GET of the config (or a part of it) carries
 * the serving config version as a strong ETag, and every write takes an
 * optional If-Match with it. An edit based on a version that no longer serves
 * gets 412 and changes nothing; without If-Match edits still compose, since
 * each one reads the config inside the apply queue.
 */

/**
 * The config version as an entity tag: `"12"`. Apps and signing keys are
 * versioned apart from the config and from each other, so theirs carry a
 * prefix (`"apps-7"`, `"keys-3"`): an ETag sent to another resource's route
 * matches nothing.
 */
export const etagOf = (version: number, prefix = '') => `"${prefix}${version}"`;
export const APPS_ETAG_PREFIX = 'apps-';
export const KEYS_ETAG_PREFIX = 'keys-';

/** The If-Match header of the write routes, for validation and the OpenAPI document. */
export const IfMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      description:
        'The ETag of a GET (the config version, e.g. `"12"`): the write ' +
        'is refused with 412 unless that version still serves. Optional.',
    },
  },
} as const;

/** The If-Match header of the apps' write routes. */
export const AppsIfMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      description:
        'The ETag of a GET of /apps (the apps version, e.g. `"apps-7"`): the ' +
        'write is refused with 412 unless the apps are still at that version. Optional.',
    },
  },
} as const;

/** The If-Match header of POST /keys/rotate. */
export const KeysIfMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      description:
        'The ETag of a GET of /keys (the signing keys version, e.g. `"keys-3"`): the ' +
        'rotation is refused with 412 unless the keys are still at that version. Optional.',
    },
  },
} as const;

class IfMatchError extends Error {
  readonly statusCode = 400;
}

/**
 * If-Match → the versions the write was based on; undefined when the header
 * is absent or `*` (a config always exists). The comparison is strong
 * (RFC 9110 §13.1.1): a weak tag (`W/"12"`), one of another resource (without
 * `prefix`, or with another) or one that is no version matches nothing. A
 * value that is not entity tags at all is a 400 saying what to send.
 */
export function ifMatchOf(req: FastifyRequest, prefix = ''): number[] | undefined {
  const header = req.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const versions: number[] = [];
  for (const tag of header.split(',').map((t) => t.trim())) {
    const m = /^(W\/)?"([^"]*)"$/.exec(tag);
    if (!m)
      throw new IfMatchError(
        `If-Match must list quoted ETags such as ${etagOf(12, prefix)} (the ETag of a GET), got ${JSON.stringify(tag)}`,
      );
    const version = m[2].startsWith(prefix) ? m[2].slice(prefix.length) : '';
    // 0: apps no app change has been saved to yet (config versions start at 1, so it matches no config).
    if (!m[1] && /^(0|[1-9]\d{0,15})$/.test(version)) versions.push(Number(version));
  }
  return versions;
}

/** Replies to an edit: the new version (and its ETag), 404, 412 or 409 (with the serving ETag) or 400 with every field
 * error. */
export function sendEditResult(reply: FastifyReply, result: EditResult): FastifyReply {
  if (result.ok) return reply.header('etag', etagOf(result.version.version)).send(result.version);
  if ('notFound' in result) return sendError(reply, 'GW_ERR_NOT_FOUND', result.notFound);
  if ('versionMismatch' in result) {
    const { serving } = result.versionMismatch;
    reply.header('etag', etagOf(serving));
    return sendError(
      reply,
      'GW_ERR_CONFIG_VERSION_MISMATCH',
      `the config is at version ${serving}, not the one in If-Match: read ` +
        `it again (ETag "${serving}") and redo the edit; nothing was changed`,
    );
  }
  if ('behind' in result) {
    const { head, serving, errors } = result.behind;
    reply.header('etag', etagOf(serving));
    return sendError(
      reply,
      'GW_ERR_CONFIG_NODE_BEHIND',
      `the cluster is at config version ${head}, which does not validate on this node (still serving ` +
        `${serving}; see errors): nothing was changed. Fix this node ` +
        `(a TLS file it lacks, say) or make the change on another node`,
      errors,
    );
  }
  if ('conflict' in result) {
    const { serving, attempts } = result.conflict;
    reply.header('etag', etagOf(serving));
    return sendError(
      reply,
      'GW_ERR_CONFIG_CONFLICT',
      `other gateway nodes changed the config first on each of ${attempts} tries; nothing was changed: retry the edit`,
    );
  }
  const n = result.errors.length;
  return sendError(
    reply,
    'GW_ERR_CONFIG_INVALID',
    `config rejected with ${n} error${n === 1 ? '' : 's'}; the previous config keeps serving`,
    result.errors,
  );
}

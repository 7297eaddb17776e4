/**
 * Serves the admin console (built by `npm run build` into dist/console/, scripts/console.ts) at /console/ on the
 * admin listener. The files hold no data and are served without the admin token, so the console can ask for it;
 * everything it shows comes from the API, which needs the token. A strict Content-Security-Policy: scripts and
 * styles from these files only, nothing inline, no framing, requests to this origin only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendError } from '../admin/replies.ts';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  svg: 'image/svg+xml',
};

interface ConsoleFile {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Where the built console is: beside the bundle that runs (dist/bundle/ → dist/console/), beside tsc's module
 * emit (dist/gateway/control/console/), or from the sources (tests and `node gateway/...`).
 */
export function consoleDir(): string | undefined {
  const here = import.meta.dirname;
  for (const dir of [join(here, '../console'), join(here, '../../../console'), join(here, '../../../dist/console')])
    if (existsSync(join(dir, 'index.html'))) return dir;
  return undefined;
}

/** GET /console/ and its files; they are read once and kept (a few hundred KB). */
export function consoleRoutes(app: FastifyInstance, dir: string | null = consoleDir() ?? null): void {
  const files = new Map<string, ConsoleFile | null>();
  const fileOf = (name: string): ConsoleFile | undefined => {
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.') || dir === null) return undefined;
    let file = files.get(name);
    if (file === undefined) {
      const path = join(dir, name);
      const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
      if (type === undefined || !existsSync(path)) file = null;
      else {
        const body = readFileSync(path);
        file = { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
      }
      files.set(name, file);
    }
    return file ?? undefined;
  };
  const send = (reply: FastifyReply, file: ConsoleFile, ifNoneMatch: string | undefined) => {
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .header('etag', file.etag);
    if (ifNoneMatch === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };
  const hidden = { schema: { hide: true } };
  app.get('/console', hidden, (_req, reply) => reply.redirect('/console/', 301));
  app.get<{ Params: { '*': string } }>('/console/*', hidden, (req, reply) => {
    if (dir === null)
      return sendError(reply, 'GW_ERR_CONSOLE_NOT_BUILT', 'the console is not built here: run npm run build');
    const file = fileOf(req.params['*'] === '' ? 'index.html' : req.params['*']);
    if (file === undefined) return sendError(reply, 'GW_ERR_NOT_FOUND', `no console file ${req.params['*']}`);
    return send(reply, file, req.headers['if-none-match']);
  });
}

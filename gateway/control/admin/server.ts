import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import type { ControlPlane } from '../types.ts';
import { acceptRequestId } from '../../proxy/stages/request-id/index.ts';
import { answerConnect, answerPlainHttpOnTls, handleClientSocketErrors } from '../../proxy/client-errors.ts';
import { afterAnswers } from '../../proxy/listeners/pipelining.ts';
import { installAdminAuth, tokenAfterReload } from './auth.ts';
import { documentBodyErrors, installErrorReplies, installJsonParser, MAX_BODY_BYTES } from './replies.ts';
import { configRoutes } from './routes/config.ts';
import { opsRoutes } from './routes/ops.ts';
import { serviceRoutes } from './routes/services.ts';
import { upstreamRoutes } from './routes/upstreams.ts';
import { appRoutes } from './routes/apps.ts';
import { consoleRoutes } from '../console/serve.ts';
import type { IdentityManager } from '../apps/manager.ts';
import { listenAt } from '../../../shared/listen.ts';
import type { ListenerTls } from '../../proxy/listeners/certificates.ts';
import { TlsListener } from '../../proxy/listeners/tls.ts';
import { createPlainHttpFront } from '../../proxy/listeners/plain-http-front.ts';
import { clientChecksOf, reconnectHttp1 } from '../../proxy/listeners/checks-changed.ts';
import { createLogger } from '../../log.ts';
import { type ListenerMetrics, listenerTlsHooks, type Refusal } from '../../proxy/listeners/metrics.ts';
import { ADMIN_LISTENER } from '../../proxy/listeners/names.ts';
import { sameData } from '../config/same-data.ts';

export interface AdminOptions {
  host: string;
  /** 0 picks a free port; the chosen one is returned. */
  port: number;
  /** When set, every route but the probes and the console's files requires `Authorization: Bearer <token>`; a
   * served config's follows (AdminServer.updateToken). */
  token?: string;
  control: ControlPlane;
  /** Largest request body (admin.max_body_bytes); MAX_BODY_BYTES unless given. */
  maxBodyBytes?: number;
  logger?: Logger;
  /** More routes behind the same auth (the reports API of the single-node collector). */
  extraRoutes?: (app: FastifyInstance) => void;
  /** Apps and signing keys (/apps, /keys). */
  identity?: IdentityManager;
  /**
   * admin.tls, validated (its files read): HTTPS only. Its handshakes, refusals, certificates' expiry and OCSP
   * fetches are counted in `metrics` as a listener named `admin` (no listener or stream may then take the name).
   */
  tls?: { config: ListenerTls; metrics: ListenerMetrics };
}

export interface AdminServer {
  close(): Promise<void>;
  port: number;
  /** A served config's admin.tls: renewed certificates and settings for new connections (no-op without TLS). */
  updateTls(tls: ListenerTls | undefined): void;
  /** A served config's admin.token, for the next request (tokenAfterReload). */
  updateToken(token: string | undefined): void;
}

/**
 * Starts the admin REST API. Refusing a non-loopback host without a token is
 * the caller's decision (see isLoopback in ./loopback.ts).
 */
export async function startAdmin(opts: AdminOptions): Promise<AdminServer> {
  let token = opts.token;
  const updateToken = (next: string | undefined) => {
    const after = tokenAfterReload(token, next, opts.host);
    if (after.kept)
      opts.logger?.warn(
        { listen: opts.host },
        'admin.token removed: the admin listener is on an address other than loopback, so its token stays until ' +
          'restart',
      );
    token = after.token;
  };
  const app = await buildAdmin(opts, () => token);
  if (opts.tls) return { ...(await startAdminTls(app, opts, opts.tls)), updateToken };
  await app.listen({ host: opts.host, port: opts.port });
  const port = (app.server.address() as AddressInfo).port;
  const updateTls = (next: ListenerTls | undefined) =>
    next && opts.logger?.warn('admin.tls added: the admin listener turns to HTTPS on restart');
  return { port, close: () => app.close(), updateTls, updateToken };
}

/**
 * The admin API over HTTPS: a listener's TLS (TlsListener: SNI, client certificates, renewals) in front of
 * fastify's HTTP server, which is handed each secured connection and never listens itself. What listens is the front
 * that answers plain HTTP with a 400, as a proxy listener's does.
 */
async function startAdminTls(
  app: FastifyInstance,
  opts: AdminOptions,
  { config, metrics }: NonNullable<AdminOptions['tls']>,
): Promise<Omit<AdminServer, 'updateToken'>> {
  await app.ready();
  const log = opts.logger ?? createLogger('silent');
  let current = config;
  const sockets = new Set<Socket>();
  const refused = (reason: Refusal) => metrics.refused.inc({ listener: ADMIN_LISTENER, reason });
  const tls = new TlsListener(config, ['http/1.1'], {
    secured: (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      app.server.emit('connection', socket);
    },
    refused,
    ...listenerTlsHooks(metrics, log, ADMIN_LISTENER),
  });
  const front = createPlainHttpFront(tls.server, config.handshake_timeout_ms, refused, answerPlainHttpOnTls);
  // Node starts an HTTP server's header and request timeouts on 'listening' (lib/_http_server.js).
  app.server.emit('listening');
  const { port } = await listenAt(front, `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`);
  return {
    port,
    updateTls(next) {
      if (next === undefined) log.warn('admin.tls removed: the admin listener stays on HTTPS until restart');
      if (next === undefined || sameData(next, current)) return;
      // Connections let in under client-certificate checks since changed (a CRL revoking an operator's
      // certificate) end once they have answered, as a proxy listener's do.
      const checksChanged = clientChecksOf(next) !== clientChecksOf(current);
      current = next;
      tls.update(next);
      if (checksChanged) reconnectHttp1(app.server, sockets);
    },
    async close() {
      tls.close();
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      app.server.closeIdleConnections();
      await app.close();
      app.server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * The admin API with every route registered, not listening: startAdmin
 * listens on it, and `npm run generate` reads its OpenAPI document
 * (docs/reference/admin-api.md). Registering a route calls nothing on
 * `control` or `identity`; only requests do.
 */
export async function buildAdmin(
  opts: Omit<AdminOptions, 'host' | 'port'>,
  token: () => string | undefined = () => opts.token,
): Promise<FastifyInstance> {
  const app = Fastify({
    // Without a logger fastify logs nothing; the typed cast keeps routes on the base logger type.
    loggerInstance: opts.logger as FastifyBaseLogger | undefined,
    bodyLimit: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The same rule as the proxy: a client's id is kept only when it is short and plain.
    genReqId: (req) => acceptRequestId(req.headers['x-request-id']),
    // Unknown properties are errors to report, not fields to drop silently.
    ajv: { customOptions: { removeAdditional: false } },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tollgate admin API',
        version: '1',
        description: 'Config, services and upstreams of a Tollgate gateway. Errors are `{code, message, request_id}`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: opts.token ? [{ bearer: [] }] : [],
    },
  });

  handleClientSocketErrors(app.server);
  // Behind pipelined requests still being answered, after their answers (not in the middle of one).
  app.server.on('connect', (req: IncomingMessage, socket: Socket) =>
    afterAnswers(socket, () => answerConnect(req, socket)),
  );
  installJsonParser(app, opts.maxBodyBytes ?? MAX_BODY_BYTES);
  installErrorReplies(app);
  documentBodyErrors(app);
  installAdminAuth(app, token);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  opsRoutes(app, opts.control, token);
  configRoutes(app, opts.control);
  serviceRoutes(app, opts.control);
  upstreamRoutes(app, opts.control);
  if (opts.identity) appRoutes(app, opts.identity);
  opts.extraRoutes?.(app);
  consoleRoutes(app);
  return app;
}

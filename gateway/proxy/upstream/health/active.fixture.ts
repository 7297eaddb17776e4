// Upstreams and waits for the active health checker's tests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActiveHealthOptions } from './active.ts';

export const base: ActiveHealthOptions = {
  kind: 'http',
  path: '/healthz',
  intervalMs: 20,
  timeoutMs: 200,
  expectedStatuses: [200],
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

/** An upstream whose /healthz answers `status`; counts checks served since the last flip. */
export async function healthServer(status = 200) {
  const state = { status, sinceFlip: 0, total: 0, hosts: [] as (string | undefined)[] };
  const server = createServer((req, res) => {
    if (req.url !== '/healthz') {
      res.statusCode = 404;
      res.end();
      return;
    }
    state.total++;
    state.sinceFlip++;
    state.hosts.push(req.headers.host);
    res.statusCode = state.status;
    res.end('ok');
  });
  const origin = await listen(server);
  return {
    origin,
    state,
    onConnection(listener: () => void) {
      server.on('connection', listener);
    },
    flip(next: number) {
      state.status = next;
      state.sinceFlip = 0;
    },
    close: () => closeServer(server),
  };
}

/** An upstream that accepts requests and never answers them. */
export async function hangingServer() {
  const state = { requests: 0 };
  const server = createServer(() => {
    state.requests++;
  });
  const origin = await listen(server);
  return { origin, state, close: () => closeServer(server) };
}

export async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

// One gateway for the limits suites, before their tests, with an echo upstream and one that stalls, trickles or stops.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before } from 'node:test';
import { startGateway, type TestGateway } from './gateway.ts';
import type { SendResult } from './http-client.ts';
import { startUpstream, type TestUpstream } from './upstream.ts';

export let gw: TestGateway;
export let echo: TestUpstream;
export let slow: TestUpstream;

/** The size of /idle/large: more than the client's and the gateway's socket buffers hold, so the gateway has to pause
 * the upstream. */
export const largeBytes = 32 * 1024 * 1024;

/**
 * Never answers /…/nohead; trickles a chunk every 50 ms on /…/trickle (eight, then the end, on /…/trickle8); one chunk
 * then silence on /…/stall; answers /…/upload once the request body has ended; sized bodies on /big/… and /idle/large.
 */
export function slowHandler(req: IncomingMessage, res: ServerResponse) {
  const url = req.url ?? '';
  if (url.endsWith('/upload')) {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${n}`));
    return;
  }
  req.resume();
  if (url.endsWith('/nohead')) return;
  if (url.endsWith('/trickle8')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let sent = 0;
    const t = setInterval(() => {
      if (++sent < 8) return res.write('.');
      clearInterval(t);
      res.end('.');
    }, 50);
    res.on('close', () => clearInterval(t));
    return;
  }
  if (url === '/idle/large')
    return void res.writeHead(200, { 'content-length': String(largeBytes) }).end(Buffer.alloc(largeBytes, 120));
  if (url.endsWith('/trickle')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const t = setInterval(() => res.write('.'), 50);
    res.on('close', () => clearInterval(t));
    return;
  }
  if (url.endsWith('/stall')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('first');
    return;
  }
  const head = /^\/(?:bighead|widehead)\/(\d+)$/.exec(url);
  if (head) return void res.writeHead(200, { 'x-big': 'h'.repeat(Number(head[1])) }).end('ok');
  if (url === '/big/declared') return void res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
  if (url === '/big/exact') return void res.writeHead(200, { 'content-length': '1000' }).end('x'.repeat(1000));
  if (url === '/big/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (let i = 0; i < 5; i++) res.write('x'.repeat(1000));
    res.end();
    return;
  }
  res.writeHead(404).end();
}

before(async () => {
  echo = await startUpstream('echo');
  slow = await startUpstream('slow', slowHandler);
  const svc = (name: string, upstream: Record<string, unknown>) => ({
    name,
    routes: [{ paths: [`/${name}`] }],
    upstream: { targets: [{ url: slow.url }], health: { passive: { max_failures: 0 } }, ...upstream },
  });
  gw = await startGateway({
    proxy: { max_body_bytes: 1024, max_header_bytes: 4096, header_timeout_ms: 300 },
    services: [
      { name: 'echo', routes: [{ paths: ['/echo'] }], upstream: { targets: [{ url: echo.url }] } },
      svc('head', { timeouts: { header_ms: 200 } }),
      svc('total', { timeouts: { header_ms: 5000, body_idle_ms: 5000, total_ms: 300 } }),
      svc('queued', { pool: { connections: 1 }, timeouts: { header_ms: 5000, total_ms: 300 } }),
      svc('idle', { timeouts: { body_idle_ms: 200 } }),
      svc('big', { max_response_bytes: 1000 }),
      svc('bighead', {}),
      svc('widehead', { max_response_header_bytes: 65536 }),
    ],
  });
});

after(async () => {
  await gw?.close();
  await echo?.close();
  await slow?.close();
});

export const scrape = async () => (await fetch(`${gw.adminUrl}/metrics`)).text();
/** Value of one sample, labels given in exposition order; undefined when absent. */
export function sampleOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The response must not look complete: the request fails, or the body is shorter than declared. */
export async function assertCutShort(p: Promise<SendResult>, fullBytes: number) {
  const r = await p.then(
    (res) => res,
    (err: Error) => err,
  );
  if (r instanceof Error) return;
  assert.ok(r.status !== 200 || r.body.length < fullBytes, `a complete-looking ${r.status} of ${r.body.length} bytes`);
}

export const jsonCode = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).code;

// What a browser does on a TLS listener that offers h2: Debian's Chromium loads a page through the gateway over
// HTTP/2, then opens a WebSocket to the same origin, which it carries on that connection as an extended CONNECT
// (RFC 8441) when the listener allows it; the gateway tunnels it to the upstream's HTTP/1.1 WebSocket and counts it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { issue, makeCa } from '../helpers/certs.ts';
import { eventsWhere } from '../helpers/events.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const skip = chromiumSkip;
let upstream: Server;
let gw: TestGateway;
let browser: Browser;

before(async () => {
  if (skip) return;
  upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>app</p>'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${m}:${req.headers['x-forwarded-proto']}`)));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-ws-browser-'));
  const site = issue(dir, makeCa(dir), { cn: 'localhost', dns: ['localhost'] });
  gw = await startGateway({
    listeners: [
      { name: 'public', listen: '127.0.0.1:0', protocols: ['h2', 'http/1.1'], tls: { certificates: [site] } },
    ],
    services: [
      {
        name: 'app',
        routes: [{ paths: ['/'] }],
        upstream: { targets: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] },
      },
    ],
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  upstream?.close();
});

test("Chromium carries a WebSocket over the page's HTTP/2 connection as an extended CONNECT", { skip }, async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const origin = `https://localhost:${gw.port('public')}`;
  const response = await page.goto(`${origin}/app`);
  assert.equal(response?.status(), 200);
  const reply = await page.evaluate(
    (url) =>
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send('hi');
        ws.onmessage = (m) => {
          resolve(String(m.data));
          ws.close(1000);
        };
        ws.onerror = () => reject(new Error('the WebSocket failed'));
      }),
    `wss://localhost:${gw.port('public')}/ws`,
  );
  assert.equal(reply, 'hi:https', 'the echo came back, and the upstream saw a client on TLS');
  await context.close();
  // The page (and the favicon Chromium asks for): events name no path.
  const [pageEvent] = await eventsWhere(gw, (e) => e.method === 'GET');
  assert.equal(pageEvent?.protocol, 'h2', 'the page came over HTTP/2');
  const [ws] = await eventsWhere(gw, (e) => e.protocol === 'websocket');
  assert.ok(ws, 'the WebSocket was counted when it closed');
  assert.equal(ws.method, 'CONNECT', 'RFC 8441: the WebSocket was a stream of the HTTP/2 connection');
  assert.equal(ws.status, 200);
  assert.equal(ws.upstreamStatus, 101);
  assert.equal(ws.messagesIn, 1);
  assert.equal(ws.messagesOut, 1);
  assert.deepEqual([ws.closeCode, ws.closeReason], [1000, 'client']);
});

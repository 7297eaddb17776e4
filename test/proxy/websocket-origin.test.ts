// Cross-site WebSocket hijacking: a browser opens a WebSocket to any origin, sends the target's cookies with it and
// lets the page read every message; no CORS applies. So the gateway checks the Origin of a handshake: against the
// service's cors.allow_origins, and, for a credential taken from a cookie on a service without cors, against its own
// host:port. Checked with ws clients that set Origin, then with Chromium, whose pages cannot lie about it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { createApp } from '../helpers/admin.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const APP = 'https://app.example.test';
let upstream: Server;
let site: Server;
let handshakes: string[] = [];
let gw: TestGateway;
let key: string;

before(async () => {
  upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>app</p>'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws, req) => {
    handshakes.push(req.url ?? '');
    ws.on('error', () => undefined); // the browser's connection is cut when the test closes it
    ws.on('message', (m) => ws.send(`echo:${m}`));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  // Another origin on the same host: same-site, so the browser sends the gateway's cookies to it.
  site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>other</p>'));
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const target = { targets: [{ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }] };
  gw = await startGateway({
    services: [
      {
        name: 'cookie',
        routes: [{ paths: ['/c'] }],
        auth: { type: 'api_key', websocket: { cookie: 'tg' } },
        upstream: target,
      },
      {
        name: 'cors',
        routes: [{ paths: ['/k'] }],
        auth: { type: 'api_key', websocket: { subprotocol_prefix: 'key.', cookie: 'tg' } },
        cors: { allow_origins: [APP] },
        upstream: target,
      },
      {
        name: 'open',
        routes: [{ paths: ['/o'] }],
        auth: { type: 'api_key', websocket: { subprotocol_prefix: 'key.', cookie: 'tg' } },
        cors: { allow_origins: ['*'] },
        upstream: target,
      },
      { name: 'page', routes: [{ paths: ['/page'] }], upstream: target },
    ],
  });
  const app = await createApp(gw);
  key = `${app.id}.${app.secret}`;
});

after(async () => {
  await gw?.close();
  upstream?.close();
  site?.close();
});

/** A handshake's outcome: 101 and an echo, or the refusal's status and code. */
function attempt(path: string, headers: Record<string, string>, protocols: string[] = []): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}${path}`, protocols, { headers });
    ws.once('open', () => ws.send('hi'));
    ws.once('message', (m) => {
      resolve(`101 ${m}`);
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve(`${res.statusCode} ${JSON.parse(body).code}`));
    });
  });
}

test("a cookie credential is taken only from a handshake of the gateway's own origin, or without Origin", async () => {
  const cookie = `tg=${encodeURIComponent(key)}`;
  const own = `http://${new URL(gw.url).host}`;
  handshakes = [];
  assert.equal(await attempt('/c/1', { cookie, origin: own }), '101 echo:hi');
  assert.equal(await attempt('/c/2', { cookie }), '101 echo:hi', 'not a browser: nothing to hijack');
  const port = (site.address() as AddressInfo).port;
  for (const origin of [`http://127.0.0.1:${port}`, 'https://evil.example', 'null', `${own}.evil.example`])
    assert.equal(await attempt('/c/3', { cookie, origin }), '403 GW_ERR_WEBSOCKET_ORIGIN', origin);
  assert.deepEqual(handshakes, ['/c/1', '/c/2'], 'no refused handshake reached the upstream');
  // Without the cookie the Origin is not the gateway's business: the handshake needs its key like any other.
  assert.equal(await attempt('/c/4', { origin: 'https://evil.example' }), '401 GW_ERR_UNAUTHORIZED');
});

test('on a service with cors, a handshake from an origin it does not allow is refused, whatever it has', async () => {
  handshakes = [];
  const viaProtocol = (origin: string) => attempt('/k/1', { origin }, [`key.${key}`, 'chat']);
  assert.equal(await viaProtocol(APP), '101 echo:hi');
  assert.equal(await viaProtocol('https://evil.example'), '403 GW_ERR_WEBSOCKET_ORIGIN');
  const cookie = `tg=${encodeURIComponent(key)}`;
  assert.equal(await attempt('/k/2', { cookie, origin: APP }), '101 echo:hi', 'an origin cors allows may use it');
  assert.equal(await attempt('/k/3', { cookie, origin: 'https://evil.example' }), '403 GW_ERR_WEBSOCKET_ORIGIN');
  assert.deepEqual(handshakes, ['/k/1', '/k/2']);
});

test('cors allowing every origin lets a handshake in from anywhere, but not with the cookie alone', async () => {
  handshakes = [];
  const evil = 'https://evil.example';
  assert.equal(await attempt('/o/1', { origin: evil }, [`key.${key}`, 'chat']), '101 echo:hi');
  const cookie = `tg=${encodeURIComponent(key)}`;
  assert.equal(await attempt('/o/2', { cookie, origin: evil }), '403 GW_ERR_WEBSOCKET_ORIGIN');
  assert.equal(await attempt('/o/3', { cookie, origin: `http://${new URL(gw.url).host}` }), '101 echo:hi');
  assert.deepEqual(handshakes, ['/o/1', '/o/3']);
});

test("Chromium: a page on another port of the host cannot use the gateway's cookie; a page of its own can", {
  skip: chromiumSkip,
}, async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext();
  await context.addCookies([{ name: 'tg', value: encodeURIComponent(key), url: gw.url }]);
  const page = await context.newPage();
  const open = (url: string) =>
    page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => ws.send('hi');
          ws.onmessage = (m) => resolve(String(m.data));
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        }),
      url,
    );
  const wsUrl = `${gw.url.replace('http', 'ws')}/c/browser`;
  handshakes = [];
  await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
  assert.equal(await open(wsUrl), 'closed 1006', 'refused: the page is on another origin');
  await page.goto(`${gw.url}/page`);
  assert.equal(await open(wsUrl), 'echo:hi', "the gateway's own origin");
  assert.deepEqual(handshakes, ['/c/browser']);
});

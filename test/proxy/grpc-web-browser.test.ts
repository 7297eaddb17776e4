// gRPC-Web from a real browser: a page on one origin calls a gRPC service through the gateway on another, as a
// gRPC-Web client library does (fetch, a length-prefixed body, x-grpc-web). Debian's Chromium sends the CORS
// preflight itself, reads the streamed body with its trailer frame, and reads grpc-status from the head of a
// refusal only if the gateway exposes it.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { createApp } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';

const skip = chromiumSkip;
let echo: EchoServer;
let site: Server;
let gw: TestGateway;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip) return;
  echo = await startEchoServer();
  site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>app</p>'));
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    services: [
      {
        name: 'web',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        auth: { type: 'api_key' },
        cors: {
          allow_origins: [`http://127.0.0.1:${(site.address() as AddressInfo).port}`],
          allow_headers: ['content-type', 'x-grpc-web', 'x-user-agent', 'grpc-timeout', 'x-api-key'],
          expose_headers: ['grpc-status', 'grpc-message'],
        },
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${echo.port}` }] },
      },
    ],
  });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await echo?.close();
  site?.close();
});

interface WebCall {
  status: number;
  headerStatus: string | null;
  message: string;
  trailer: string;
}

/**
 * A unary Echo call from the page: the EchoRequest {message} encoded by hand (field 1, a string under 128 bytes),
 * the reply's first message decoded the same way, and the trailer frame as text.
 */
function callFromPage(url: string, message: string, key?: string): Promise<WebCall> {
  return page.evaluate(
    async ([url, message, key]) => {
      const text = new TextEncoder().encode(message);
      const body = new Uint8Array([0, 0, 0, 0, text.length + 2, 0x0a, text.length, ...text]);
      const headers: Record<string, string> = { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' };
      if (key) headers['x-api-key'] = key;
      const res = await fetch(url, { method: 'POST', headers, body });
      const bytes = new Uint8Array(await res.arrayBuffer());
      let reply = '';
      let trailer = '';
      for (let at = 0; at < bytes.length; ) {
        const length = new DataView(bytes.buffer).getUint32(at + 1);
        const payload = bytes.subarray(at + 5, at + 5 + length);
        if (bytes[at] & 0x80) trailer = new TextDecoder().decode(payload);
        else reply = new TextDecoder().decode(payload.subarray(2, 2 + payload[1]));
        at += 5 + length;
      }
      return { status: res.status, headerStatus: res.headers.get('grpc-status'), message: reply, trailer };
    },
    [url, message, key] as const,
  );
}

test('a page on another origin calls a gRPC service with gRPC-Web through the gateway', { skip }, async () => {
  const { id, secret } = await createApp(gw);
  const url = `${gw.url}/helloworld.Echo/Unary`;
  const ok = await callFromPage(url, 'from the browser', `${id}.${secret}`);
  assert.equal(ok.status, 200);
  assert.equal(ok.message, 'from the browser', 'the reply, read from the streamed body');
  assert.match(ok.trailer, /grpc-status:\s*0/, 'the status, in the trailer frame');
  const [event] = await eventsWhere(gw, (e) => e.grpcMethod === '/helloworld.Echo/Unary' && e.appId === id);
  assert.deepEqual([event?.protocol, event?.grpcStatus, event?.messagesIn, event?.messagesOut], ['grpc', 0, 1, 1]);
});

test('a refusal reaches the page as a gRPC status it can read: UNAUTHENTICATED in the head', { skip }, async () => {
  const refused = await callFromPage(`${gw.url}/helloworld.Echo/Unary`, 'no key');
  assert.equal(refused.status, 200);
  assert.equal(refused.headerStatus, '16', 'grpc-status is exposed to the page');
  assert.equal(refused.message, '');
});

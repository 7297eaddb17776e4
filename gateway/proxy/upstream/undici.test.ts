import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { Agent, Client, Pool, connector, protocolOptions, request } from './undici.ts';
import { ADDED_HEADERS } from '../stages/request-headers/index.ts';

test('the deep undici modules are the classes and request function undici exports', async () => {
  assert.equal(Pool, undici.Pool);
  assert.equal(Agent, undici.Agent);
  assert.equal(Client, undici.Client);
  assert.equal(typeof request, 'function');
  const agent = new Agent();
  assert.equal(agent.request, undici.Dispatcher.prototype.request, 'same Dispatcher prototype');
  await agent.close();
});

test(
  "the gateway's own request headers are in undici's " + 'table of known names, and their values are still checked',
  async () => {
    const { headerNameLowerCasedRecord } = createRequire(import.meta.url)('undici/lib/core/constants.js') as {
      headerNameLowerCasedRecord: Record<string, string>;
    };
    for (const name of ADDED_HEADERS) assert.equal(headerNameLowerCasedRecord[name], name);
    const server = http.createServer((req, res) => res.end(String(req.headers['x-request-id']))).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const ok = await request(pool, { path: '/', method: 'GET', headers: { 'x-request-id': 'abc' } });
      assert.equal(await ok.body.text(), 'abc');
      await assert.rejects(
        request(pool, { path: '/', method: 'GET', headers: { 'x-request-id': 'a\r\nb' } }),
        /invalid x-request-id header/,
      );
    } finally {
      await pool.close();
      server.close();
    }
  },
);

test(
  "loading undici's client does not load node:http2 or node:tls, and a " +
    "Client that negotiates h2 still works (the stand-in loads undici's HTTP/2 half)",
  async () => {
    const script = `
    const { Client } = await import(${JSON.stringify(new URL('./undici.ts', import.meta.url).href)});
    const loaded = (m) => process.moduleLoadList.includes('NativeModule ' + m);
    console.log(JSON.stringify({ client: typeof Client, http2: loaded('http2'), tls: loaded('tls') }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { client: 'function', http2: false, tls: false });

    // In this process: undici's HTTP/2 half, behind its stand-in, still serves a Client that allows h2.
    const tlsDir = new URL('../../../test/helpers/tls/', import.meta.url);
    const cert = readFileSync(new URL('localhost-cert.pem', tlsDir), 'utf8');
    const server = createSecureServer(
      { cert, key: readFileSync(new URL('localhost-key.pem', tlsDir), 'utf8') },
      (req, res) => {
        res.end(`h2 ${req.httpVersion}`);
      },
    ).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = new Client(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      allowH2: true,
      connect: { ca: cert, servername: 'localhost' },
    });
    try {
      const res = await request(client, { path: '/', method: 'GET' });
      assert.equal(await res.body.text(), 'h2 2.0');
    } finally {
      await client.close();
      server.close();
    }
  },
);

test("an h2 (TLS) upstream is PINGed at the pool's interval, not undici's default (60 s); 0: none", async () => {
  const tlsDir = new URL('../../../test/helpers/tls/', import.meta.url);
  const cert = readFileSync(new URL('localhost-cert.pem', tlsDir), 'utf8');
  let pings = 0;
  const server = createSecureServer(
    { cert, key: readFileSync(new URL('localhost-key.pem', tlsDir), 'utf8') },
    (_q, res) => {
      res.write('a');
      setTimeout(() => res.end('b'), 700);
    },
  );
  server.on('session', (session) => session.on('ping', () => pings++));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pinged = async (intervalMs: number) => {
    pings = 0;
    const protocol = protocolOptions('h2', 10, intervalMs);
    const pool = new Pool(origin, {
      ...protocol.client,
      connect: connector({ ...protocol.connect, ca: cert, servername: 'localhost' }),
    });
    try {
      const res = await request(pool, { path: '/', method: 'GET' });
      assert.equal(await res.body.text(), 'ab');
    } finally {
      await pool.close();
    }
    return pings;
  };
  try {
    assert.ok((await pinged(200)) >= 2, 'PINGs every 200 ms');
    assert.equal(await pinged(0), 0);
  } finally {
    server.close();
  }
});

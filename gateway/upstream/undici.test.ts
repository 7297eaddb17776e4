import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { Agent, Client, Pool, request } from './undici.ts';
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

test("the gateway's own request headers are in undici's table of known names, and their values are still checked", async () => {
  const { headerNameLowerCasedRecord } = createRequire(import.meta.url)('undici/lib/core/constants.js') as { headerNameLowerCasedRecord: Record<string, string> };
  for (const name of ADDED_HEADERS) assert.equal(headerNameLowerCasedRecord[name], name);
  const server = http.createServer((req, res) => res.end(String(req.headers['x-request-id']))).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    const ok = await request(pool, { path: '/', method: 'GET', headers: { 'x-request-id': 'abc' } });
    assert.equal(await ok.body.text(), 'abc');
    await assert.rejects(request(pool, { path: '/', method: 'GET', headers: { 'x-request-id': 'a\r\nb' } }), /invalid x-request-id header/);
  } finally {
    await pool.close();
    server.close();
  }
});

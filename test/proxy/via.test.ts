import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { validateConfig } from '../../gateway/control/config/load.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
let quiet: TestGateway;
let echo: TestUpstream;
/** Another proxy that sends what it gets back to the gateway, Via and all (a misrouted DNS name would too). */
let bouncer: TestUpstream;
let bounceTo = '';

before(async () => {
  echo = await startUpstream('echo');
  bouncer = await startUpstream('bouncer', (req, res) => {
    const back = request(`${bounceTo}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    back.on('error', () => res.writeHead(502).end());
    req.pipe(back);
  });
  gw = await startGateway({
    proxy: { via: { max_passes: 3 } },
    services: [
      { name: 'echo', routes: [{ paths: ['/echo'] }], upstream: { targets: [{ url: echo.url }] } },
      { name: 'loop', routes: [{ paths: ['/loop'] }], upstream: { targets: [{ url: bouncer.url }] } },
    ],
  });
  bounceTo = gw.url;
  quiet = await startGateway({
    proxy: { via: { enabled: false } },
    services: [{ name: 'echo', routes: [{ paths: ['/echo'] }], upstream: { targets: [{ url: echo.url }] } }],
  });
});

after(async () => {
  await gw?.close();
  await quiet?.close();
  await echo?.close();
  await bouncer?.close();
});

test('the upstream gets Via: the version the client spoke and the pseudonym, after any Via it had', async () => {
  const plain = await send(gw.url, '/echo');
  assert.equal(plain.status, 200);
  assert.equal(plain.json().headers.via, '1.1 tollgate');

  const chained = await send(gw.url, '/echo', { headers: { via: '1.0 edge-cdn (Squid/6.1)' } });
  assert.equal(chained.json().headers.via, '1.0 edge-cdn (Squid/6.1), 1.1 tollgate');

  const old = await rawRequest(gw.proxy.port, 'GET /echo HTTP/1.0\r\nHost: a.test\r\n\r\n');
  assert.equal(old.status, 200);
  assert.match(old.text, /"via":"1\.0 tollgate"/);
});

test('a target that leads back to the gateway ends with 508 after max_passes passes, not at a timeout', async () => {
  const before = bouncer.seen.length;
  const res = await send(gw.url, '/loop/x', { timeoutMs: 5000 });
  assert.equal(res.status, 508);
  assert.equal(res.json().code, 'GW_ERR_LOOP_DETECTED');
  // Passes 1-3 went through the bouncer; the fourth arrival carried three entries and was refused.
  assert.equal(bouncer.seen.length - before, 3);
  assert.equal(bouncer.seen.at(-1)?.headers.via, '1.1 tollgate, 1.1 tollgate, 1.1 tollgate');
  assert.ok(res.ms < 3000, `took ${res.ms} ms`);
});

test('a request whose Via shows max_passes passes is refused; one fewer, or another name, is not', async () => {
  const refused = await send(gw.url, '/echo', { headers: { via: '1.1 tollgate, 1.1 tollgate, 2 tollgate' } });
  assert.equal(refused.status, 508);
  const seenBefore = echo.seen.length;
  const fewer = await send(gw.url, '/echo', { headers: { via: '1.1 tollgate, 1.1 other, 1.1 tollgate' } });
  assert.equal(fewer.status, 200);
  assert.equal(echo.seen.length, seenBefore + 1);
});

test('with via.enabled false the gateway adds no Via and refuses nothing for it', async () => {
  const res = await send(quiet.url, '/echo', { headers: { via: '1.1 tollgate, 1.1 tollgate, 1.1 tollgate' } });
  assert.equal(res.status, 200);
  assert.equal(res.json().headers.via, '1.1 tollgate, 1.1 tollgate, 1.1 tollgate');
  const none = await send(quiet.url, '/echo');
  assert.equal(none.json().headers.via, undefined);
});

test('a pseudonym that is not an HTTP token, or max_passes of 0, is refused by the path of its field', () => {
  for (const [via, path] of [
    [{ pseudonym: 'two words' }, '/proxy/via/pseudonym'],
    [{ pseudonym: 'a,b' }, '/proxy/via/pseudonym'],
    [{ max_passes: 0 }, '/proxy/via/max_passes'],
  ] as const) {
    const r = validateConfig({ proxy: { via } }, {});
    assert.ok(!r.ok, JSON.stringify(via));
    assert.deepEqual(
      r.errors.map((e) => e.path),
      [path],
    );
  }
  assert.ok(validateConfig({ proxy: { via: { pseudonym: 'edge-eu.1', max_passes: 1 } } }, {}).ok);
});

// Regexes in a config are matched against what clients send: a path, a header, an Origin. Written carelessly
// (nested quantifiers), a backtracking engine took exponential time on a crafted input, and one request stalled
// every other request of the worker. They now run on RE2's linear-time engine (router/linear-regex.ts): the crafted
// requests are answered at once, and a client beside them is served.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let up: TestUpstream;
let gw: TestGateway;
before(async () => {
  up = await startUpstream('api');
  gw = await startGateway({
    services: [
      service('nested', [up.url], [{ paths: ['~^/api/(a+)+$'] }]),
      service('tagged', [up.url], [{ paths: ['/tagged'], headers: { 'x-tag': '~^(\\w+\\s?)+$' } }]),
      {
        ...service('rewritten', [up.url], [{ paths: ['/r'], rewrite: { regex: '^/r/(x+x+)+y', replacement: '/$1' } }]),
        cors: { allow_origins: ['~https://(\\w+\\.?)+example\\.com'] },
      },
      service('plain', [up.url], [{ paths: ['/plain'] }]),
    ],
  });
});
after(async () => {
  await gw?.close();
  await up?.close();
});

test('crafted paths, headers and origins are answered at once, and other clients are served meanwhile', async () => {
  const many = (c: string) => c.repeat(40);
  const crafted = [
    send(gw.url, `/api/${many('a')}!`),
    send(gw.url, '/tagged', { headers: { 'x-tag': `${many('a ')}!` } }),
    send(gw.url, `/r/${many('x')}`),
    send(gw.url, '/r/x', { headers: { origin: `https://${many('a.')}!` } }),
  ];
  const started = performance.now();
  const beside = await send(gw.url, '/plain');
  const besideMs = performance.now() - started;
  const [nested, tagged, rewritten, origin] = await Promise.all(crafted);
  assert.equal(beside.status, 200);
  assert.equal(nested.status, 404, 'the path does not match the regex');
  assert.equal(tagged.status, 404, 'the header does not match its condition');
  assert.equal(rewritten.status, 200);
  assert.equal(up.seen.find((s) => s.url.startsWith('/r/x'))?.url, `/r/${many('x')}`, 'no match: not rewritten');
  assert.equal(origin.headers['access-control-allow-origin'], undefined, 'the origin is not allowed');
  // With backtracking, each crafted request held the event loop for longer than a test runs.
  assert.ok(besideMs < 5000, `the request beside them took ${Math.round(besideMs)} ms`);
});

test('a regex that needs backtracking (a lookahead) is refused with the field named', async () => {
  const bad = service('bad', [up.url], [{ paths: ['~^/api/(?!internal)'] }]);
  await assert.rejects(startGateway({ services: [bad] }), /routes\/0\/paths\/0.*RE2's syntax/s);
});

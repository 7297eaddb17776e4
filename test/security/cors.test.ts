import { test } from 'node:test';
import assert from 'node:assert/strict';
import { service, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { validateConfig } from '../../gateway/control/config/load.ts';
import { anyEvent, eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

const APP = 'https://app.example.com';

function preflight(url: string, path: string, origin: string, method: string, headers?: string) {
  return send(url, path, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      ...(headers ? { 'access-control-request-headers': headers } : {}),
    },
  });
}

async function corsGateway() {
  const up = await startUpstream('up', (req, res) => {
    req.resume();
    res.writeHead(200, {
      'content-type': 'text/plain',
      vary: 'Accept-Encoding',
      'access-control-allow-origin': 'https://upstream-said.example',
    });
    res.end('ok');
  });
  const gw = await startGateway({
    services: [
      {
        ...service('web', [up.url], [{ name: 'web', paths: ['/web'], methods: ['GET', 'PUT', 'DELETE'] }]),
        cors: {
          allow_origins: [APP, '~https://[a-z]+\\.example\\.org'],
          allow_methods: ['GET', 'PUT'],
          allow_headers: ['Content-Type', 'X-Custom'],
          expose_headers: ['X-Total'],
          allow_credentials: true,
          max_age_s: 120,
        },
        acl: { deny: ['127.0.0.66'] },
      },
      { ...service('public', [up.url], [{ name: 'public', paths: ['/public'] }]), cors: { allow_origins: ['*'] } },
      service('plain', [up.url], [{ name: 'plain', paths: ['/plain'], methods: ['GET'] }]),
    ],
  });
  return { up, gw };
}

test(
  'an allowed preflight is answered by the gateway with 204 ' +
    'and the allow headers, even when the route does not list OPTIONS',
  async () => {
    const { up, gw } = await corsGateway();
    try {
      const r = await preflight(gw.url, '/web/items', APP, 'PUT', 'content-type, x-custom');
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-origin'], APP);
      assert.equal(r.headers['access-control-allow-methods'], 'GET, PUT');
      assert.equal(r.headers['access-control-allow-headers'], 'Content-Type, X-Custom');
      assert.equal(r.headers['access-control-allow-credentials'], 'true');
      assert.equal(r.headers['access-control-max-age'], '120');
      assert.match(String(r.headers.vary), /Origin/);
      const regex = await preflight(gw.url, '/web', 'https://shop.example.org', 'GET');
      assert.equal(regex.status, 204);
      assert.equal(regex.headers['access-control-allow-origin'], 'https://shop.example.org');
      const any = await preflight(gw.url, '/public', 'https://anyone.test', 'DELETE', 'x-whatever');
      assert.equal(any.status, 204);
      assert.equal(any.headers['access-control-allow-origin'], '*');
      assert.equal(any.headers['access-control-allow-headers'], 'x-whatever', '`*` echoes the asked-for headers');
      assert.equal(up.seen.length, 0, 'preflights never reach the upstream');
      assert.equal(await metric(gw, 'tollgate_cors_preflights_total', 'service="web",result="allowed"'), 2);
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await eventsWhere(gw, anyEvent, 3);
    assert.ok(
      events.every((e) => e.status === 204 && e.errorClass === 'none' && e.upstreamStatus === 0),
      'counted, not billable',
    );
  },
);

test(
  'a preflight from a disallowed origin, or asking for a disallowed ' +
    'method or header, gets 403 GW_ERR_CORS_REJECTED without allow headers',
  async () => {
    const { up, gw } = await corsGateway();
    try {
      const cases: [string, string, string | undefined][] = [
        ['https://evil.test', 'GET', undefined],
        ['https://shop.example.org.evil.test', 'GET', undefined],
        ['http://app.example.com', 'GET', undefined],
        [APP, 'DELETE', undefined],
        [APP, 'PUT', 'content-type, authorization'],
      ];
      for (const [origin, method, headers] of cases) {
        const r = await preflight(gw.url, '/web', origin, method, headers);
        assert.equal(r.status, 403, `${origin} ${method} ${headers}`);
        assert.equal(r.json().code, 'GW_ERR_CORS_REJECTED');
        assert.equal(r.headers['access-control-allow-origin'], undefined);
      }
      assert.equal(await metric(gw, 'tollgate_cors_preflights_total', 'service="web",result="rejected"'), 5);
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_CORS_REJECTED"'), 5);
      // A method no route serves finds no route: 404, which fails the preflight as well.
      assert.equal((await preflight(gw.url, '/web', APP, 'PATCH')).status, 404);
      // A service without CORS keeps its method list: no preflight shortcut to its upstream.
      assert.equal((await preflight(gw.url, '/plain', APP, 'GET')).status, 404);
      assert.equal(up.seen.length, 0);
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await eventsWhere(gw, anyEvent, 7);
    assert.equal(
      events.filter((e) => e.status === 403 && e.errorClass === 'forbidden' && e.service === 'web').length,
      5,
    );
  },
);

test(
  'actual responses carry the allow-origin headers for ' + 'allowed origins only, and gateway errors carry them too',
  async () => {
    const { up, gw } = await corsGateway();
    try {
      const ok = await send(gw.url, '/web', { headers: { origin: APP } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['access-control-allow-origin'], APP, "the gateway's answer replaces the upstream's");
      assert.equal(ok.headers['access-control-allow-credentials'], 'true');
      assert.equal(ok.headers['access-control-expose-headers'], 'X-Total');
      assert.equal(ok.headers.vary, 'Accept-Encoding, Origin', "the upstream's Vary is kept");
      const stranger = await send(gw.url, '/web', { headers: { origin: 'https://evil.test' } });
      assert.equal(stranger.status, 200, 'CORS does not refuse ordinary requests; the browser withholds the response');
      assert.equal(
        stranger.headers['access-control-allow-origin'],
        'https://upstream-said.example',
        'left as the upstream sent it',
      );
      assert.equal(stranger.headers.vary, 'Accept-Encoding, Origin');
      const noOrigin = await send(gw.url, '/web');
      assert.equal(noOrigin.headers.vary, 'Accept-Encoding, Origin');
      const star = await send(gw.url, '/public', { headers: { origin: 'https://anyone.test' } });
      assert.equal(star.headers['access-control-allow-origin'], '*');
      // The IP list refuses 127.0.0.66: a browser script at APP can still read the 403 and its code.
      const denied = await send(gw.url, '/web', { headers: { origin: APP }, localAddress: '127.0.0.66' });
      assert.equal(denied.status, 403);
      assert.equal(denied.json().code, 'GW_ERR_IP_DENIED');
      assert.equal(denied.headers['access-control-allow-origin'], APP);
      assert.equal(denied.headers['access-control-allow-credentials'], 'true');
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test('the cors schema and its rules: origins are required and well-formed, credentials never with *', () => {
  const base = service('web', ['http://127.0.0.1:1']);
  const errorsOf = (cors: unknown) => {
    const r = validateConfig({ services: [{ ...base, cors }] }, {});
    return r.ok ? [] : r.errors.map((e) => e.path);
  };
  assert.deepEqual(errorsOf({ allow_origins: [APP] }), []);
  const full = validateConfig({ services: [{ ...base, cors: { allow_origins: [APP] } }] }, {});
  assert.ok(full.ok);
  assert.deepEqual(full.config.services[0].cors, {
    allow_origins: [APP],
    allow_methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allow_headers: ['*'],
    expose_headers: [],
    allow_credentials: false,
    max_age_s: 600,
  });
  assert.ok(errorsOf({}).length > 0, 'allow_origins is required');
  assert.ok(errorsOf({ allow_origins: [] }).length > 0);
  assert.deepEqual(errorsOf({ allow_origins: ['*'], allow_credentials: true }), ['/services/0/cors/allow_credentials']);
  assert.deepEqual(errorsOf({ allow_origins: ['app.example.com'] }), ['/services/0/cors/allow_origins/0']);
  assert.deepEqual(errorsOf({ allow_origins: ['~(unclosed'] }), ['/services/0/cors/allow_origins/0']);
  assert.ok(errorsOf({ allow_origins: [APP], max_age_s: -1 }).length > 0);
  assert.ok(errorsOf({ allow_origins: [APP], surprise: 1 }).length > 0);
});

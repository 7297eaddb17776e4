import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { createApp } from '../helpers/admin.ts';
import { anyEvent, eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

const ROUTES = [
  { name: 'catalog', paths: ['/catalog'] },
  { name: 'orders', paths: ['/orders'] },
  { name: 'admin', paths: ['/admin'] },
  { name: 'root', paths: ['/'] },
];
const ROLES = {
  reader: [{ routes: ['catalog', 'root'], methods: ['GET'] }],
  writer: [{ routes: ['catalog', 'orders'], methods: ['GET', 'POST'] }],
  support: [{ routes: ['admin'], methods: ['*'], paths: ['/admin/tickets'] }],
  ops: [{ routes: ['*'] }],
};

/** An app created through the admin API, as its API key `<id>.<secret>`. */
async function apiKey(gw: TestGateway, body: Record<string, unknown>): Promise<string> {
  const { id, secret } = await createApp(gw, body);
  return `${id}.${secret}`;
}

async function rbacGateway(): Promise<{ up: TestUpstream; gw: TestGateway; keys: Record<string, string> }> {
  const up = await startUpstream('up');
  const auth = { type: 'api_key', anonymous_paths: ['/catalog/public*'] };
  const gw = await startGateway({
    services: [
      { ...service('shop', [up.url], ROUTES), auth, rbac: { roles: ROLES } },
      // The same upstream, declared case-insensitive (an IIS-style backend).
      {
        ...service(
          'legacy',
          [up.url],
          [
            { name: 'legacy-admin', paths: ['/admin'], hosts: ['legacy.test'] },
            { name: 'legacy-root', paths: ['/'], hosts: ['legacy.test'] },
          ],
        ),
        auth,
        rbac: { roles: { reader: [{ routes: ['legacy-root'], methods: ['GET'] }] }, case_insensitive_paths: true },
      },
    ],
  });
  const keys = {
    reader: await apiKey(gw, { id: 'reader-app', name: 'r', roles: ['reader'] }),
    writer: await apiKey(gw, { id: 'writer-app', name: 'w', roles: ['writer'] }),
    support: await apiKey(gw, { id: 'support-app', name: 's', roles: ['support'] }),
    ops: await apiKey(gw, { id: 'ops-app', name: 'o', roles: ['ops', 'reader'], allowed_ips: ['127.0.0.0/30', '::1'] }),
    none: await apiKey(gw, { id: 'roleless', name: 'n', roles: [] }),
  };
  // The identity reaches the data plane within a second.
  const ready = await eventually(
    async () => (await send(gw.url, '/catalog', { headers: { 'x-api-key': keys.none } })).status === 403,
    3000,
  );
  assert.ok(ready, 'apps reached the data plane');
  return { up, gw, keys };
}

const as = (key: string, extra: Record<string, string> = {}) => ({ headers: { 'x-api-key': key, ...extra } });

test(
  'roles grant routes and methods; everything else is denied with ' +
    '403 GW_ERR_FORBIDDEN, counted, with the app in the access event',
  async () => {
    const { up, gw, keys } = await rbacGateway();
    try {
      const status = async (path: string, key: string, method = 'GET') =>
        (await send(gw.url, path, { method, ...as(key) })).status;
      assert.equal(await status('/catalog/items', keys.reader), 200);
      assert.equal(await status('/catalog/items', keys.reader, 'HEAD'), 200, 'a GET grant covers HEAD');
      assert.equal(await status('/catalog/items', keys.reader, 'POST'), 403, 'method not granted');
      assert.equal(await status('/orders/1', keys.reader), 403, 'route not granted');
      assert.equal(await status('/orders/1', keys.writer, 'POST'), 200);
      assert.equal(await status('/orders/1', keys.writer, 'DELETE'), 403);
      assert.equal(await status('/admin/tickets/9', keys.support, 'DELETE'), 200, 'path prefix grant');
      assert.equal(await status('/admin/tickets', keys.support), 200);
      assert.equal(await status('/admin/ticketsx', keys.support), 403, 'prefixes match whole segments');
      assert.equal(await status('/admin/users', keys.support), 403);
      assert.equal(await status('/admin/users', keys.ops, 'DELETE'), 200, '`*` routes, any method');
      assert.equal(await status('/catalog', keys.none), 403, 'no roles, no access');
      const denied = await send(gw.url, '/orders/1', as(keys.reader));
      assert.equal(denied.json().code, 'GW_ERR_FORBIDDEN');
      assert.equal(
        await metric(gw, 'tollgate_rbac_denied_total', 'service="shop",route="orders",reason="no_grant"'),
        3,
      );
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await eventsWhere(gw, anyEvent, 13);
    const forbidden = events.filter(
      (e) => e.status === 403 && e.errorClass === 'forbidden' && e.appId === 'reader-app',
    );
    assert.ok(forbidden.length >= 3, 'the refused app is named in its access events');
  },
);

test(
  'unauthenticated requests on an RBAC service get 401 unless ' +
    'the path is anonymous, and tricks cannot make a path anonymous',
  async () => {
    const { up, gw } = await rbacGateway();
    try {
      assert.equal((await send(gw.url, '/catalog/public/x')).status, 200);
      for (const trick of [
        '/catalog/public/../../admin',
        '/catalog/public/%2e%2e/%2E%2E/admin',
        '/catalog/public/..%2f..%2fadmin',
      ]) {
        const r = await send(gw.url, trick);
        assert.ok(r.status === 401 || r.status === 400, `${trick} → ${r.status}`);
      }
      const r = await send(gw.url, '/orders');
      assert.equal(r.status, 401);
      assert.equal(r.json().code, 'GW_ERR_UNAUTHORIZED');
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'path tricks (//, /./, /../, %2e, %2F, backslash) either ' +
    'normalise to the denied route and are denied, or are refused with 400',
  async () => {
    const { up, gw, keys } = await rbacGateway();
    try {
      const before = up.seen.length;
      // The reader may use /catalog and the catch-all, never /admin or /orders.
      const normalised = [
        '//admin/users',
        '/./admin/users',
        '/catalog/../admin/users',
        '/catalog/%2e%2e/admin/users',
        '/catalog/%2E%2E/admin',
        '/%61dmin/users',
        '/catalog/./../orders/1',
        '/x/..//admin',
        '/admin/',
        '/admin',
      ];
      for (const p of normalised) {
        const r = await send(gw.url, p, as(keys.reader));
        assert.equal(r.status, 403, `${p} reaches the admin/orders route and is denied (got ${r.status})`);
      }
      const refused = [
        '/catalog/..%2Fadmin/users',
        '/catalog%2F..%2Fadmin',
        '/admin%2fusers',
        '/catalog/..%5Cadmin',
        '/catalog/%00',
      ];
      for (const p of refused) {
        const r = await send(gw.url, p, as(keys.reader));
        assert.equal(r.status, 400, `${p} is ambiguous and refused (got ${r.status})`);
      }
      const raw = await rawRequest(
        gw.proxy.port,
        `GET /catalog\\..\\admin HTTP/1.1\r\nHost: a\r\nX-Api-Key: ${keys.reader}\r\nConnection: close\r\n\r\n`,
      );
      assert.ok(raw.status === 400, `a raw backslash path is refused (got ${raw.status})`);
      assert.equal(up.seen.length, before, 'none of them reached the upstream');
      assert.ok((await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_PATH_ESCAPED_SEPARATOR"')) >= 5);
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'case: paths are case-sensitive by default; with ' +
    'case_insensitive_paths a case variant cannot reach a denied route through a broader one',
  async () => {
    const { up, gw, keys } = await rbacGateway();
    try {
      // Default (HTTP semantics): /ADMIN is not /admin, so it is the catch-all route the reader may use.
      const sensitive = await send(gw.url, '/ADMIN/users', as(keys.reader));
      assert.equal(sensitive.status, 200);
      assert.equal(up.seen.at(-1)!.url, '/ADMIN/users', 'the upstream receives exactly the path that was authorised');
      const legacy = (path: string) => send(gw.url, path, as(keys.reader, { host: 'legacy.test' }));
      assert.equal((await legacy('/Home')).status, 200);
      for (const p of ['/ADMIN/users', '/Admin', '/aDmIn/x']) assert.equal((await legacy(p)).status, 403, p);
      assert.equal(
        await metric(gw, 'tollgate_rbac_denied_total', 'service="legacy",route="legacy-root",reason="no_grant"'),
        3,
      );
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test("an app's allowedIps are enforced after authentication: 403 GW_ERR_IP_DENIED, counted per list", async () => {
  const { up, gw, keys } = await rbacGateway();
  try {
    assert.equal((await send(gw.url, '/admin/x', { ...as(keys.ops), localAddress: '127.0.0.2' })).status, 200);
    const r = await send(gw.url, '/admin/x', { ...as(keys.ops), localAddress: '127.0.0.9' });
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'GW_ERR_IP_DENIED');
    assert.equal(await metric(gw, 'tollgate_ip_denied_total', 'service="shop",list="app"'), 1);
    // Other apps carry no list: any address.
    assert.equal((await send(gw.url, '/catalog', { ...as(keys.reader), localAddress: '127.0.0.9' })).status, 200);
    // A list change reaches the data plane without a reload.
    const put = await fetch(`${gw.adminUrl}/apps/ops-app`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'o', roles: ['ops'], allowed_ips: ['127.0.0.9'] }),
    });
    assert.equal(put.status, 200);
    const moved = await eventually(
      async () => (await send(gw.url, '/admin/x', { ...as(keys.ops), localAddress: '127.0.0.9' })).status === 200,
      3000,
    );
    assert.ok(moved);
    assert.equal((await send(gw.url, '/admin/x', { ...as(keys.ops), localAddress: '127.0.0.2' })).status, 403);
  } finally {
    await gw.close();
    await up.close();
  }
  const events = await eventsWhere(gw, anyEvent, 1);
  assert.ok(
    events.some(
      (e) => e.appId === 'ops-app' && e.status === 403 && e.errorClass === 'forbidden' && e.clientIp === '127.0.0.9',
    ),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { service, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { anyEvent, eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';

/** What the upstream echoes back: its view of the forwarded headers. */
const echoed = (r: { json<T>(): T }) => r.json<{ headers: Record<string, string> }>().headers;

test(
  'X-Forwarded-For from an untrusted peer is ignored: the ' +
    'spoofed address never reaches the ACL or the access event',
  async () => {
    const up = await startUpstream('up');
    const gw = await startGateway({
      services: [{ ...service('api', [up.url]), acl: { allow: ['10.0.0.0/8'] } }],
    });
    try {
      const before = await metric(gw, 'tollgate_ip_denied_total', 'service="api",list="service"');
      const r = await send(gw.url, '/x', { headers: { 'x-forwarded-for': '10.1.2.3' } });
      assert.equal(r.status, 403);
      assert.equal(r.json().code, 'GW_ERR_IP_DENIED');
      assert.equal(await metric(gw, 'tollgate_ip_denied_total', 'service="api",list="service"'), before + 1);
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_IP_DENIED"'), 1);
      assert.equal(up.seen.length, 0, 'nothing reached the upstream');
    } finally {
      await gw.close();
      await up.close();
    }
    const [e] = await eventsWhere(gw, anyEvent, 1);
    assert.equal(e.status, 403);
    assert.equal(e.errorClass, 'forbidden');
    assert.equal(e.clientIp, '127.0.0.1', 'the socket address, not the header');
    assert.equal(e.appId, '');
  },
);

test(
  'through a trusted proxy the client is the rightmost ' + 'untrusted X-Forwarded-For entry, trusted hops skipped',
  async () => {
    const up = await startUpstream('up');
    const gw = await startGateway({
      trusted_proxies: ['127.0.0.0/8', '192.168.0.0/16'],
      services: [{ ...service('api', [up.url]), acl: { deny: ['203.0.113.0/24'] } }],
    });
    try {
      // The client claims 10.9.9.9; the edge proxy (192.168.1.1) appended the real 203.0.113.7; the gateway sees
      // 127.0.0.1.
      const denied = await send(gw.url, '/x', { headers: { 'x-forwarded-for': '10.9.9.9, 203.0.113.7, 192.168.1.1' } });
      assert.equal(denied.status, 403, 'the real client 203.0.113.7 is denied');
      const spoof = await send(gw.url, '/x', { headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' } });
      assert.equal(spoof.status, 200, 'an address left of the first untrusted hop is client-written and ignored');
      const allTrusted = await send(gw.url, '/x', { headers: { 'x-forwarded-for': '192.168.5.5, 127.0.0.5' } });
      assert.equal(allTrusted.status, 200);
      // Upstream sees the header as received plus the socket peer it came from (never the resolved client twice).
      assert.equal(echoed(spoof)['x-forwarded-for'], '203.0.113.7, 198.51.100.1, 127.0.0.1');
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await eventsWhere(gw, anyEvent, 3);
    assert.deepEqual(events.map((e) => e.clientIp).sort(), ['192.168.5.5', '198.51.100.1', '203.0.113.7']);
  },
);

test(
  'a malformed X-Forwarded-For from a trusted proxy is ' + 'ignored whole: the socket address stays, nothing throws',
  async () => {
    const up = await startUpstream('up');
    const gw = await startGateway({
      trusted_proxies: ['127.0.0.1'],
      services: [{ ...service('api', [up.url]), acl: { deny: ['127.0.0.1'] } }],
    });
    try {
      for (const bad of [
        'garbage',
        '1.2.3.4:80',
        '[2001:db8::1]',
        '203.0.113.7,',
        '',
        '256.0.0.1',
        '10.0.0.1, , 127.0.0.1',
        '10.0.0.1 127.0.0.2',
      ]) {
        const r = await send(gw.url, '/x', { headers: { 'x-forwarded-for': bad } });
        assert.equal(
          r.status,
          403,
          `${JSON.stringify(bad)} leaves the client at the socket address 127.0.0.1 (denied)`,
        );
      }
      const ok = await send(gw.url, '/x', { headers: { 'x-forwarded-for': '203.0.113.7' } });
      assert.equal(ok.status, 200);
      // A repeated header is joined by Node and walked as one list.
      const twice = await rawRequest(
        gw.proxy.port,
        'GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: ' +
          '198.51.100.4\r\nX-Forwarded-For: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
      assert.equal(twice.status, 200, 'the client is 198.51.100.4, not the denied peer');
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test('service deny wins over allow; an empty allow list allows everyone not denied', async () => {
  const up = await startUpstream('up');
  const gw = await startGateway({
    services: [
      {
        ...service('both', [up.url], [{ name: 'both', paths: ['/both'] }]),
        acl: { allow: ['127.0.0.0/8'], deny: ['127.0.0.9'] },
      },
      { ...service('deny-only', [up.url], [{ name: 'deny-only', paths: ['/deny'] }]), acl: { deny: ['127.0.0.7/32'] } },
      service('open', [up.url], [{ name: 'open', paths: ['/open'] }]),
    ],
  });
  try {
    assert.equal((await send(gw.url, '/both', { localAddress: '127.0.0.8' })).status, 200);
    assert.equal((await send(gw.url, '/both', { localAddress: '127.0.0.9' })).status, 403);
    assert.equal((await send(gw.url, '/deny', { localAddress: '127.0.0.7' })).status, 403);
    assert.equal((await send(gw.url, '/deny', { localAddress: '127.0.0.6' })).status, 200);
    assert.equal((await send(gw.url, '/open', { localAddress: '127.0.0.9' })).status, 200);
    assert.equal(await metric(gw, 'tollgate_ip_denied_total', 'service="both",list="service"'), 1);
    assert.equal(await metric(gw, 'tollgate_ip_denied_total', 'service="deny-only",list="service"'), 1);
  } finally {
    await gw.close();
    await up.close();
  }
});

async function ipv6Available(): Promise<boolean> {
  const { createServer } = await import('node:net');
  const s = createServer();
  try {
    s.listen(0, '::1');
    await once(s, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

test("IPv6 clients are matched by IPv6 blocks, and a dual-stack listener's ::ffff: addresses by IPv4 ones", {
  skip: !(await ipv6Available()) && 'no IPv6 loopback',
}, async () => {
  const up = await startUpstream('up');
  const gw6 = await startGateway({
    proxy: { listen: '[::1]:0' },
    services: [{ ...service('v6', [up.url]), acl: { deny: ['::1/128'] } }],
  });
  const gwDual = await startGateway({
    proxy: { listen: '[::]:0' },
    services: [{ ...service('dual', [up.url]), acl: { allow: ['127.0.0.0/8'], deny: ['127.0.0.5'] } }],
  });
  try {
    const v6 = await new Promise<number>((resolve, reject) => {
      request({ host: '::1', port: gw6.proxy.port, path: '/x' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(v6, 403);
    // Over IPv4 to a [::] listener the socket says ::ffff:127.0.0.x.
    const dualUrl = `http://127.0.0.1:${gwDual.proxy.port}`;
    const ok = await send(dualUrl, '/x', { localAddress: '127.0.0.4' });
    assert.equal(ok.status, 200);
    assert.equal(echoed(ok)['x-forwarded-for'], '127.0.0.4', 'the upstream sees the plain IPv4 address');
    assert.equal((await send(dualUrl, '/x', { localAddress: '127.0.0.5' })).status, 403);
  } finally {
    await gw6.close();
    await gwDual.close();
    await up.close();
  }
  const [e] = await eventsWhere(gw6, anyEvent, 1);
  assert.equal(e.clientIp, '::1');
  const events = await eventsWhere(gwDual, anyEvent, 2);
  assert.deepEqual(
    events.map((x) => x.clientIp).sort(),
    ['127.0.0.4', '127.0.0.5'],
    'access events carry the unmapped address',
  );
});

test('invalid CIDRs in trusted_proxies or acl are rejected with their path', async () => {
  const { validateConfig } = await import('../../gateway/control/config/load.ts');
  const r = validateConfig(
    {
      trusted_proxies: ['10.0.0.0/8', '10.0.0.0/40'],
      services: [{ ...service('api', ['http://127.0.0.1:1']), acl: { allow: ['nope'], deny: ['::1/129'] } }],
    },
    {},
  );
  assert.equal(r.ok, false);
  const paths = (r as { errors: { path: string }[] }).errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ['/services/0/acl/allow/0', '/services/0/acl/deny/0', '/trusted_proxies/1']);
});

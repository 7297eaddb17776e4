import { test } from 'node:test';
import assert from 'node:assert/strict';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { metric } from '../helpers/metrics.ts';

const LOOPBACK = ['127.0.0.0/8', '::1'];

/** A gateway with a loopback-denied /admin, an open /open, and whatever else `extra` adds, under `paths`. */
async function withGateway(
  paths: Record<string, unknown>,
  extra: Record<string, unknown>[],
  fn: (gw: TestGateway, up: TestUpstream) => Promise<void>,
): Promise<void> {
  const up = await startUpstream('up');
  const gw = await startGateway({
    proxy: { paths },
    services: [
      { ...service('admin', [up.url], [{ name: 'admin', paths: ['/admin'] }]), acl: { deny: LOOPBACK } },
      ...extra.map((s) => ({ ...s, upstream: { targets: [{ url: up.url }] } })),
      service('open', [up.url], [{ name: 'open', paths: ['/'] }]),
    ],
  });
  try {
    await fn(gw, up);
  } finally {
    await gw.close();
    await up.close();
  }
}

/** The status, the error code when the gateway answered, and the path the upstream got when it did. */
async function outcome(gw: TestGateway, path: string): Promise<[number, string]> {
  const res = await send(gw.url, path);
  return [res.status, res.status === 200 ? res.json().url : res.json().code];
}

test(
  'escaped_slashes: reject (the default) refuses %2F, ' + '%5C and \\ with 400 GW_ERR_PATH_ESCAPED_SEPARATOR, counted',
  async () => {
    await withGateway({}, [], async (gw, up) => {
      for (const p of ['/open/a%2Fb', '/open/a%5cb', '/open/a\\b', '/x/..%2Fadmin']) {
        assert.deepEqual(await outcome(gw, p), [400, 'GW_ERR_PATH_ESCAPED_SEPARATOR'], p);
      }
      assert.equal(up.seen.length, 0);
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_PATH_ESCAPED_SEPARATOR"'), 4);
    });
  },
);

test('escaped_slashes: decode routes on the decoded path and sends it upstream', async () => {
  await withGateway({ escaped_slashes: 'decode' }, [], async (gw) => {
    assert.deepEqual(await outcome(gw, '/x/..%2Fadmin'), [403, 'GW_ERR_IP_DENIED']);
    assert.deepEqual(await outcome(gw, '/x\\..\\admin'), [403, 'GW_ERR_IP_DENIED']);
    assert.deepEqual(await outcome(gw, '/open/a%2Fb%5Cc'), [200, '/open/a/b/c']);
  });
});

test(
  'a route that keeps escaped slashes gets them, ' + 'upper-cased, only when the decoded path reaches it too',
  async () => {
    const files = { name: 'files', routes: [{ name: 'files', paths: ['/files'], escaped_slashes: 'keep' }] };
    const strict = { name: 'strict', routes: [{ name: 'strict', paths: ['/strict'], escaped_slashes: 'reject' }] };
    await withGateway({}, [files], async (gw) => {
      assert.deepEqual(await outcome(gw, '/files/repo%2fname/readme'), [200, '/files/repo%2Fname/readme']);
      assert.deepEqual(await outcome(gw, '/files/a%5Cb'), [200, '/files/a%5Cb']);
      assert.deepEqual(await outcome(gw, '/files/a\\b'), [200, '/files/a%5Cb']);
      // Decoded, these leave /files: a kept escape may not make the broader route win.
      assert.deepEqual(await outcome(gw, '/files/..%2Fadmin'), [400, 'GW_ERR_PATH_ESCAPED_SEPARATOR']);
      assert.deepEqual(await outcome(gw, '/files%2F..%2Fopen'), [400, 'GW_ERR_PATH_ESCAPED_SEPARATOR']);
      // Decoded it is /files/x, kept it is another route: ambiguous.
      assert.deepEqual(await outcome(gw, '/open%2F..%2Ffiles/x'), [400, 'GW_ERR_PATH_AMBIGUOUS']);
      assert.deepEqual(await outcome(gw, '/files/x/a%2F..%2Fb'), [400, 'GW_ERR_PATH_AMBIGUOUS']);
    });
    await withGateway({ escaped_slashes: 'decode' }, [strict], async (gw) => {
      assert.deepEqual(await outcome(gw, '/strict/a%2Fb'), [400, 'GW_ERR_PATH_ESCAPED_SEPARATOR']);
      assert.deepEqual(await outcome(gw, '/x/..%2Fstrict'), [400, 'GW_ERR_PATH_ESCAPED_SEPARATOR']);
      assert.deepEqual(await outcome(gw, '/open/a%2Fb'), [200, '/open/a/b']);
    });
  },
);

test('path_params: keep (the default) routes without them and forwards them, strip_prefix included', async () => {
  const svc = { name: 'svc', routes: [{ name: 'svc', paths: ['/svc'], strip_prefix: true }] };
  await withGateway({}, [svc], async (gw) => {
    assert.deepEqual(await outcome(gw, '/admin;x=1/users'), [403, 'GW_ERR_IP_DENIED']);
    assert.deepEqual(await outcome(gw, '/x/..;/admin'), [403, 'GW_ERR_IP_DENIED']);
    assert.deepEqual(await outcome(gw, '/open;v=2/items;sort=asc'), [200, '/open;v=2/items;sort=asc']);
    assert.deepEqual(await outcome(gw, '/svc;jsessionid=7/a;b/c?q=1'), [200, '/a;b/c?q=1']);
    assert.deepEqual(await outcome(gw, '/svc;jsessionid=7'), [200, '/']);
  });
});

test('path_params: strip removes them; reject refuses them with 400 GW_ERR_PATH_PARAMETERS', async () => {
  await withGateway({ path_params: 'strip' }, [], async (gw) => {
    assert.deepEqual(await outcome(gw, '/admin;x=1/users'), [403, 'GW_ERR_IP_DENIED']);
    assert.deepEqual(await outcome(gw, '/open;v=2/items;sort=asc'), [200, '/open/items']);
  });
  await withGateway({ path_params: 'reject' }, [], async (gw) => {
    assert.deepEqual(await outcome(gw, '/open;v=2'), [400, 'GW_ERR_PATH_PARAMETERS']);
    assert.deepEqual(await outcome(gw, '/open%3Bv=2'), [200, '/open%3Bv=2'], 'an escaped ; is data');
  });
});

test('merge_slashes: false keeps repeated slashes, still resolving dot segments', async () => {
  await withGateway({ merge_slashes: false }, [], async (gw) => {
    assert.deepEqual(await outcome(gw, '/open//a///b'), [200, '/open//a///b']);
    assert.deepEqual(await outcome(gw, '/open//x/../b'), [200, '/open//b']);
    assert.deepEqual(await outcome(gw, '/x/../admin'), [403, 'GW_ERR_IP_DENIED']);
  });
});

test(
  'forward_original_path sends the client spelling ' + 'upstream; routing and rules still read the canonical path',
  async () => {
    const raw = { name: 'raw', routes: [{ name: 'raw', paths: ['/raw'], forward_original_path: true }] };
    await withGateway({}, [raw], async (gw) => {
      assert.deepEqual(await outcome(gw, '/raw/./%61b;x//c%2a?q=%2e'), [200, '/raw/./%61b;x//c%2a?q=%2e']);
      assert.deepEqual(await outcome(gw, '/x/../r%61w/y'), [200, '/x/../r%61w/y']);
      assert.deepEqual(await outcome(gw, '/raw/../admin'), [403, 'GW_ERR_IP_DENIED']);
    });
  },
);

test(
  'an escaped character a URI may not hold ' + 'literally, and non-ASCII, go upstream as upper-case escapes',
  async () => {
    await withGateway({}, [], async (gw) => {
      assert.deepEqual(await outcome(gw, '/open/a"b{c}'), [200, '/open/a%22b%7Bc%7D']);
      assert.deepEqual(await outcome(gw, '/open/caf%c3%a9/%7e'), [200, '/open/caf%C3%A9/~']);
    });
  },
);

test(
  'case_sensitive: false routes /ADMIN with /admin (for ' + 'upstreams that ignore case) and forwards the path as sent',
  async () => {
    await withGateway({ case_sensitive: false }, [], async (gw) => {
      for (const p of ['/ADMIN/users', '/Admin', '/aDmIn/x/../users', '/%41DMIN/users', '/ADMIN;x/users']) {
        assert.deepEqual(await outcome(gw, p), [403, 'GW_ERR_IP_DENIED'], p);
      }
      assert.deepEqual(await outcome(gw, '/Open/Thing'), [200, '/Open/Thing']);
    });
    await withGateway({}, [], async (gw) => {
      assert.deepEqual(
        await outcome(gw, '/ADMIN/users'),
        [200, '/ADMIN/users'],
        'case-sensitive by default, as nginx and Envoy',
      );
    });
  },
);

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { RedisConfigStore } from '../../gateway/control/store/redis.ts';
import { eventually, service, sleep, startGateway } from '../helpers/gateway.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { PRIVATE } from '../helpers/tls-upstream.ts';

/**
 * A node of a Redis-store cluster that cannot validate the cluster's head (it
 * lacks a TLS file the head names, which "another node" stored straight into
 * Redis). Deploy-time settings come from the cluster's config, so each case
 * has its own prefix for its tls_files_check_ms. Regressions: such a node
 * stayed on its old version until some later edit, even after the file
 * arrived and after SIGHUP; and its admin edits got a 409 "retry" that could
 * never succeed, or 409 where a stale If-Match is promised a 412.
 */
/** One node on a fresh prefix of `redisUrl`, then version 2 stored by "another node", naming a CA file that does not
 * exist yet. */
async function behindOneVersion(t: TestContext, redisUrl: string, tlsFilesCheckMs: number) {
  const prefix = `tollgate-test-${randomUUID()}:`;
  const gw = await startGateway({
    store: { kind: 'redis', redis_url: redisUrl, prefix },
    proxy: { tls_files_check_ms: tlsFilesCheckMs },
    services: [service('api', ['http://127.0.0.1:9'], [{ paths: ['/api'] }])],
  });
  t.after(() => gw.close());
  const ca = join(mkdtempSync(join(tmpdir(), 'tollgate-behind-')), 'ca.pem');
  const other = new RedisConfigStore({ url: redisUrl, prefix });
  t.after(() => other.close());
  const v2 = structuredClone((await other.head())!.config) as { services: Record<string, unknown>[] };
  v2.services.push({
    name: 'tls',
    routes: [{ paths: ['/tls'] }],
    upstream: { targets: [{ url: 'https://localhost:9' }], tls: { ca_file: ca } },
  });
  await other.append(
    { config: v2, source: 'admin', createdAt: new Date().toISOString(), fileHash: '', note: 'PUT /services/tls' },
    1,
  );
  await sleep(1500); // heard of (pub/sub, or the 1 s poll), and refused
  assert.equal(gw.manager.current().version, 1, 'the node cannot apply version 2');
  return { gw, ca, other };
}

test(
  'a node behind a shared version it lacks a TLS file ' + 'for catches up once the file arrives (TLS file watch)',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const { gw, ca } = await behindOneVersion(t, redis.url, 100);
    copyFileSync(PRIVATE.ca, ca);
    assert.ok(
      await eventually(() => gw.manager.current().version === 2, 3000),
      'the node never caught up once the file arrived',
    );
  },
);

test(
  'a node behind a shared version refuses edits with the ' +
    'reason (503), a stale If-Match with 412, and catches up on SIGHUP',
  async (t) => {
    const redis = await startPrivateRedis(t);
    if (!redis) return;
    const { gw, ca, other } = await behindOneVersion(t, redis.url, 0);
    const put = (headers: Record<string, string> = {}) =>
      fetch(`${gw.adminUrl}/services/more`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          routes: [{ paths: ['/more'] }],
          upstream: { targets: [{ url: 'http://127.0.0.1:9' }] },
        }),
      });
    const refused = await put();
    assert.equal(refused.status, 503);
    const body = await refused.json();
    assert.equal(body.code, 'GW_ERR_CONFIG_NODE_BEHIND');
    assert.match(
      body.message,
      /cluster is at config version 2, which does not validate on this node \(still serving 1/,
    );
    assert.ok(
      body.errors.some(
        (e: { path: string; message: string }) =>
          e.path === '/services/1/upstream/tls/ca_file' && e.message.includes(ca),
      ),
      JSON.stringify(body),
    );
    const stale = await put({ 'if-match': '"1"' });
    assert.equal(stale.status, 412, 'an If-Match the cluster is past is a 412, as documented, even here');
    assert.equal(stale.headers.get('etag'), '"2"');
    const current = await put({ 'if-match': '"2"' });
    assert.equal(
      current.status,
      503,
      "the cluster's own ETag, read on another node: this node is behind, not the client",
    );
    assert.equal((await other.head())!.version, 2, 'nothing was stored');

    copyFileSync(PRIVATE.ca, ca);
    await sleep(1500);
    assert.equal(gw.manager.current().version, 1, 'with the TLS file watch off nothing retries by itself');
    assert.ok((await gw.manager.reloadFromFile()).ok);
    assert.equal(gw.manager.current().version, 2, 'SIGHUP catches up');
  },
);

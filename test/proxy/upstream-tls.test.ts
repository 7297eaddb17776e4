import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { PRIVATE } from '../helpers/tls-upstream.ts';

import { SELF_SIGNED, gateway, service, upstream } from '../helpers/upstream-tls-gateway.ts';

test('a target whose certificate a private CA issued answers 502 without tls.ca_file and 200 with it', async () => {
  const up = await upstream('private', { cert: 'private' });
  const gw = await gateway([
    service('plain', `https://localhost:${up.port}`),
    service('trusted', `https://localhost:${up.port}`, { tls: { ca_file: PRIVATE.ca } }),
  ]);
  const plain = await send(gw.url, '/plain');
  assert.equal(plain.status, 502, plain.text);
  assert.equal(plain.json().code, 'GW_ERR_BAD_GATEWAY');
  const trusted = await send(gw.url, '/trusted');
  assert.equal(trusted.status, 200, trusted.text);
  assert.deepEqual(trusted.json(), { name: 'private', host: `localhost:${up.port}`, servername: 'localhost' });
});

test(
  'a GET to a target whose certificate fails the ' + 'checks is retried on another target: the request never left',
  async () => {
    const good = await upstream('good', { cert: 'private' });
    const bad = await upstream('bad', {});
    const gw = await gateway([
      {
        name: 'svc',
        routes: [{ paths: ['/svc'] }],
        upstream: {
          targets: [{ url: `https://localhost:${bad.port}` }, { url: `https://localhost:${good.port}` }],
          tls: { ca_file: PRIVATE.ca },
          health: { passive: { max_failures: 0 } },
        },
      },
    ]);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(gw.url, '/svc')).status);
    assert.deepEqual(statuses, Array(6).fill(200));
    assert.equal(bad.seen.length, 0);
    assert.equal(good.seen.length, 6);
  },
);

test('verify: false accepts a certificate no CA vouches for, for a name it does not hold', async () => {
  const up = await upstream('lab', {});
  const gw = await gateway([
    service('checked', `https://127.0.0.1:${up.port}`, { retries: 0 }),
    service('lab', `https://127.0.0.1:${up.port}`, { tls: { verify: false } }),
  ]);
  assert.equal((await send(gw.url, '/checked')).status, 502);
  const r = await send(gw.url, '/lab');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json().servername, false, 'an address target still gets no SNI');
});

test(
  'server_name lets an address target whose certificate holds ' +
    'only a name pass, as SNI and checked name; the Host is unchanged',
  async () => {
    const up = await upstream('named', { cert: 'private' });
    const url = `https://127.0.0.1:${up.port}`;
    const gw = await gateway([
      service('address', url, { tls: { ca_file: PRIVATE.ca } }),
      service('named', url, { tls: { ca_file: PRIVATE.ca, server_name: 'upstream.test' } }),
      service('wrong', url, { tls: { ca_file: PRIVATE.ca, server_name: 'wrong.test' } }),
    ]);
    assert.equal((await send(gw.url, '/address')).status, 502, 'the certificate holds no address');
    const r = await send(gw.url, '/named');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), { name: 'named', host: `127.0.0.1:${up.port}`, servername: 'upstream.test' });
    const wrong = await send(gw.url, '/wrong');
    assert.equal(wrong.status, 502, wrong.text);
    assert.equal(up.seen.length, 1, 'only the named service reached the upstream');
  },
);

test(
  'an upstream that requires a client certificate ' + 'answers 200 with cert_file and key_file, 502 without',
  async () => {
    const up = await upstream('mtls', { cert: 'private', requireClientCert: true });
    const url = `https://localhost:${up.port}`;
    const gw = await gateway([
      service('with', url, {
        tls: { ca_file: PRIVATE.ca, cert_file: PRIVATE.clientCert, key_file: PRIVATE.clientKey },
      }),
      service('without', url, { tls: { ca_file: PRIVATE.ca }, retries: 0 }),
    ]);
    const r = await send(gw.url, '/with');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().client, 'tollgate-client');
    const without = await send(gw.url, '/without');
    assert.equal(without.status, 502, without.text);
    assert.deepEqual(
      up.seen.map((s) => s.client),
      ['tollgate-client'],
    );
  },
);

test(
  "active HTTP checks use the upstream's tls: a private-CA " +
    'target stays healthy with ca_file (and goes down without)',
  async () => {
    const up = await upstream('checked', { cert: 'private' });
    const checks = {
      active: { path: '/healthz', interval_ms: 100, timeout_ms: 1000, unhealthy_threshold: 1, healthy_threshold: 1 },
    };
    const gw = await gateway([
      service('trusted', `https://localhost:${up.port}`, { tls: { ca_file: PRIVATE.ca }, health: checks }),
      service('untrusted', `https://localhost:${up.port}`, { health: checks }),
    ]);
    const healthOf = (svc: string) => gw.manager.health().find((h) => h.service === svc)!.targets[0].healthy;
    assert.ok(await eventually(() => !healthOf('untrusted'), 3000), 'the checks without ca_file fail the handshake');
    // The untrusted checks never get past the handshake: every request the upstream sees is a trusted check.
    const seen = up.seen.length;
    assert.ok(await eventually(() => up.seen.length >= seen + 3, 3000), 'the trusted checks keep reaching the target');
    assert.equal(healthOf('trusted'), true);
    assert.equal((await send(gw.url, '/trusted')).status, 200);
  },
);

test(
  'a reload re-reads a changed ca_file under the same ' + 'path, and refuses a broken one while the old keeps serving',
  async () => {
    const up = await upstream('rotated', { cert: 'private' });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
    const ca = join(dir, 'ca.pem');
    copyFileSync(SELF_SIGNED, ca); // the wrong CA to begin with
    const gw = await gateway([service('svc', `https://localhost:${up.port}`, { tls: { ca_file: ca }, retries: 0 })]);
    assert.equal((await send(gw.url, '/svc')).status, 502);

    copyFileSync(PRIVATE.ca, ca);
    const reloaded = await gw.manager.reloadFromFile();
    assert.ok(reloaded.ok, JSON.stringify(reloaded));
    const agent = new Agent({ keepAlive: true });
    try {
      assert.equal((await send(gw.url, '/svc', { agent })).status, 200);
      const connections = up.connections();
      // Unchanged file and unchanged CA: the pool (and its connection) is kept.
      assert.ok((await gw.manager.reloadFromFile()).ok);
      assert.equal((await send(gw.url, '/svc', { agent })).status, 200);
      assert.equal(up.connections(), connections, 'no new connection: the pool was kept');

      writeFileSync(ca, 'not a certificate\n');
      const refused = await gw.manager.reloadFromFile();
      assert.equal(refused.ok, false);
      assert.ok(
        !refused.ok &&
          refused.errors!.some(
            (e) => e.path === '/services/0/upstream/tls/ca_file' && /holds no PEM certificate/.test(e.message),
          ),
        JSON.stringify(refused),
      );
      assert.equal((await send(gw.url, '/svc', { agent })).status, 200, 'the previous files keep serving');
    } finally {
      agent.destroy();
    }
  },
);

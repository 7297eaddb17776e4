// Upstream TLS files renewed on disk: picked up without a reload, and what a renewal keeps.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { PRIVATE, trustLocalhostCert } from '../helpers/tls-upstream.ts';

import { SELF_SIGNED, gateway, open, service, upstream } from '../helpers/upstream-tls-gateway.ts';

test('a ca_file renewed on disk is picked up without a reload, within two of proxy.tls_files_check_ms', async () => {
  const up = await upstream('watched', { cert: 'private' });
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  const ca = join(dir, 'ca.pem');
  copyFileSync(SELF_SIGNED, ca);
  const gw = await startGateway({
    proxy: { tls_files_check_ms: 100 },
    services: [service('svc', `https://localhost:${up.port}`, { tls: { ca_file: ca }, retries: 0 })],
  });
  open.unshift(gw);
  assert.equal((await send(gw.url, '/svc')).status, 502);
  const version = gw.manager.current().version;
  copyFileSync(PRIVATE.ca, ca);
  assert.ok(
    await eventually(async () => (await send(gw.url, '/svc')).status === 200, 3000),
    'the renewed CA was never picked up',
  );
  assert.equal(gw.manager.current().version, version, 'no new config version');
  // A broken file is refused by the reload the watch makes; the renewed CA keeps serving.
  writeFileSync(ca, 'not a certificate\n');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await send(gw.url, '/svc')).status, 200);
});

/** An admin edit: service `svc` on /svc to the one https target `url`, trusting `ca`. */
async function putSvc(gw: TestGateway, url: string, ca: string): Promise<void> {
  const put = await fetch(`${gw.adminUrl}/services/svc`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routes: [{ paths: ['/svc'] }],
      upstream: { targets: [{ url }], tls: { ca_file: ca }, retries: 0 },
    }),
  });
  assert.equal(put.status, 200, await put.text());
}

// Regression: a file changed between the admin edit that named it and the watch's first look was never re-read.
test('a ca_file changed right after the admin edit that named it is still picked up', async () => {
  const up = await upstream('edited', { cert: 'private' });
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  const ca = join(dir, 'ca.pem');
  copyFileSync(SELF_SIGNED, ca);
  const gw = await startGateway({
    proxy: { tls_files_check_ms: 200 },
    services: [service('other', `https://localhost:${up.port}`, { tls: { ca_file: PRIVATE.ca } })],
  });
  open.unshift(gw);
  await putSvc(gw, `https://localhost:${up.port}`, ca);
  copyFileSync(PRIVATE.ca, ca);
  assert.ok(
    await eventually(async () => (await send(gw.url, '/svc')).status === 200, 3000),
    'the CA written after the edit was never picked up',
  );
});

// Regression: the watch re-read the config file, whose own TLS file (no longer in use after an admin edit) was gone,
// so every renewal of the files in use was refused as "config file rejected".
test(
  'a renewal of the files an admin edit uses is picked ' + 'up though a TLS file only the config file names is gone',
  async () => {
    const up = await upstream('replaced', { cert: 'private' });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
    const retired = join(dir, 'retired-ca.pem');
    const ca = join(dir, 'ca.pem');
    copyFileSync(PRIVATE.ca, retired);
    copyFileSync(SELF_SIGNED, ca);
    const url = `https://localhost:${up.port}`;
    const gw = await startGateway({
      proxy: { tls_files_check_ms: 200 },
      services: [service('svc', url, { tls: { ca_file: retired }, retries: 0 })],
    });
    open.unshift(gw);
    await putSvc(gw, url, ca);
    assert.equal((await send(gw.url, '/svc')).status, 502, "the edit's CA does not vouch for the upstream yet");
    rmSync(retired);
    await new Promise((r) => setTimeout(r, 600));
    copyFileSync(PRIVATE.ca, ca);
    assert.ok(
      await eventually(async () => (await send(gw.url, '/svc')).status === 200, 3000),
      'the renewal was refused',
    );
  },
);

// Regression: a renewal rebuilt the pool with a fresh, closed breaker (and retry budget), so routine certificate
// rotation sent traffic to an upstream the open circuit was holding off. Envoy keeps outlier state across SDS updates.
test('a pool rebuilt for renewed TLS files keeps its open circuit breaker', async () => {
  const up = await upstream('tripped', { cert: 'private' });
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  const ca = join(dir, 'ca.pem');
  copyFileSync(SELF_SIGNED, ca); // a CA that did not issue the upstream's certificate: every request fails
  const gw = await startGateway({
    proxy: { tls_files_check_ms: 0 },
    services: [
      service('svc', `https://localhost:${up.port}`, {
        tls: { ca_file: ca },
        retries: 0,
        health: { passive: { max_failures: 0 } },
        breaker: { enabled: true, min_requests: 3, error_ratio: 0.5, open_ms: 600_000 },
      }),
    ],
  });
  open.unshift(gw);
  for (let i = 0; i < 3; i++) assert.equal((await send(gw.url, '/svc')).status, 502);
  assert.equal((await send(gw.url, '/svc')).json().code, 'GW_ERR_CIRCUIT_OPEN');
  writeFileSync(ca, readFileSync(SELF_SIGNED, 'utf8') + '\n'); // renewed: other bytes, the same trust
  const reloaded = await gw.manager.reloadFromFile();
  assert.ok(reloaded.ok, JSON.stringify(reloaded));
  const after = await send(gw.url, '/svc');
  assert.equal(after.json().code, 'GW_ERR_CIRCUIT_OPEN', after.text);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /^tollgate_upstream_breaker_state\{service="svc",group=""\} 1$/m);
});

test(
  'an admin apply naming a missing file is refused with its ' +
    'path and the old config keeps serving; no PEM text is ever shown',
  async () => {
    const up = await upstream('admin', { cert: 'private' });
    const svc = service('svc', `https://localhost:${up.port}`, {
      tls: { ca_file: PRIVATE.ca, cert_file: PRIVATE.clientCert, key_file: PRIVATE.clientKey },
    });
    const gw = await gateway([svc]);
    const current = await (await fetch(`${gw.adminUrl}/config`)).json();
    assert.doesNotMatch(
      JSON.stringify(current),
      /BEGIN/,
      "the served config is the one written, without the files' text",
    );
    const bad = structuredClone(current.config);
    bad.services[0].upstream.tls.ca_file = '/nonexistent/ca.pem';
    bad.services[0].upstream.tls.key_file = PRIVATE.serverKey;
    const res = await fetch(`${gw.adminUrl}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bad),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    const paths = body.errors.map((e: { path: string }) => e.path);
    assert.deepEqual(
      paths.sort(),
      ['/services/0/upstream/tls/ca_file', '/services/0/upstream/tls/key_file'],
      JSON.stringify(body),
    );
    assert.match(JSON.stringify(body), /cannot read \/nonexistent\/ca\.pem/);
    assert.equal((await send(gw.url, '/svc')).status, 200);
    assert.equal(gw.manager.current().version, current.version);
  },
);

// Last in this file: the trust it adds is process-wide, as NODE_EXTRA_CA_CERTS's is.
test(
  'ca_file replaces the default store: a certificate the ' +
    'process trusts is refused when the file does not hold its CA',
  async () => {
    trustLocalhostCert();
    const up = await upstream('self', {});
    const gw = await gateway([
      service('default', `https://localhost:${up.port}`),
      service('own', `https://localhost:${up.port}`, { tls: { ca_file: SELF_SIGNED } }),
      service('other', `https://localhost:${up.port}`, { tls: { ca_file: PRIVATE.ca } }),
    ]);
    assert.equal((await send(gw.url, '/default')).status, 200, 'the default store trusts it');
    assert.equal((await send(gw.url, '/own')).status, 200);
    assert.equal((await send(gw.url, '/other')).status, 502, "the file's CAs, and only they");
  },
);

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { PRIVATE, startTlsUpstream, trustLocalhostCert, type TlsUpstream } from '../helpers/tls-upstream.ts';

// This process trusts neither the private CA nor the self-signed `localhost` certificate: only upstream.tls can.
const SELF_SIGNED = fileURLToPath(new URL('../helpers/tls/localhost-cert.pem', import.meta.url));
const open: { close(): Promise<void> }[] = [];
after(() => Promise.all(open.map((o) => o.close())));

async function upstream(name: string, opts: Parameters<typeof startTlsUpstream>[1]): Promise<TlsUpstream> {
  const up = await startTlsUpstream(name, opts);
  open.push(up);
  return up;
}

async function gateway(services: Record<string, unknown>[]): Promise<TestGateway> {
  const gw = await startGateway({ services });
  open.unshift(gw);
  return gw;
}

const service = (name: string, url: string, upstreamExtra: Record<string, unknown> = {}) => ({
  name,
  routes: [{ paths: [`/${name}`] }],
  upstream: { targets: [{ url }], ...upstreamExtra },
});

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

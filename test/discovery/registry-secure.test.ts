// Registries as production runs them (each a test's own). etcd with TLS, client certificates required and auth
// enabled, the gateway's user allowed to read its prefix only: with the right CA, certificate and password the
// gateway reads its targets; a wrong password, or no client certificate, gets nothing and says why in /health. A
// Consul agent whose HTTPS API requires client certificates and whose ACLs deny by default: read with a certificate
// and a read token from a file, refused without either.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { issue, makeCa } from '../helpers/certs.ts';
import { consulSkip, startConsul, type TestConsul } from '../helpers/consul.ts';
import { etcdSkip, startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

const skip = etcdSkip || consulSkip;
const PREFIX = '/tollgate/shop/';
let etcd: TestEtcd;
let consul: TestConsul;
let a: TestUpstream;
let gw: TestGateway;

before(async () => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-etcd-tls-'));
  const ca = makeCa(dir);
  const tls = {
    ca,
    server: issue(dir, ca, { cn: 'etcd.test', ips: ['127.0.0.1'], client: 'both' }),
    client: issue(dir, ca, { cn: 'root-client', client: true, noCommonName: true }),
  };
  // etcd refuses a client certificate with a Common Name on its JSON gateway once auth is on (CVE-2018-16886).
  const gateway = issue(dir, ca, { cn: 'tollgate', client: true, noCommonName: true });
  const password = join(dir, 'password');
  writeFileSync(password, 'reader-secret\n', { mode: 0o600 });
  const wrong = join(dir, 'wrong');
  writeFileSync(wrong, 'guess\n', { mode: 0o600 });
  etcd = await startEtcd(tls);
  await etcd.enableAuth('tollgate', 'reader-secret', PREFIX);
  a = await startUpstream('a');
  await etcd.put(`${PREFIX}a`, JSON.stringify({ url: a.url }));

  const service = (name: string, etcdBlock: Record<string, unknown>) => ({
    name,
    routes: [{ paths: [`/${name}`] }],
    upstream: {
      discovery: {
        etcd: { endpoints: [etcd.url], prefix: PREFIX, probe_ms: 500, timeout_ms: 1000, ...etcdBlock },
      },
    },
  });
  const clientTls = { ca_file: ca.cert, cert_file: gateway.cert, key_file: gateway.key };
  const agent = issue(dir, ca, { cn: 'consul.test', ips: ['127.0.0.1'], client: 'both' });
  consul = await startConsul('billing', { tls: { ca: ca.cert, cert: agent.cert, key: agent.key }, acl: true });
  await consul.register('a', a.port);
  const token = join(dir, 'consul-token');
  writeFileSync(token, `${await consul.readToken()}\n`, { mode: 0o600 });
  const billing = (name: string, tls: object, tokenFile = token) => ({
    name,
    routes: [{ paths: [`/${name}`] }],
    upstream: {
      discovery: { consul: { address: consul.httpsUrl, service: 'billing', wait_s: 5, tls, token_file: tokenFile } },
    },
  });
  gw = await startGateway({
    services: [
      service('shop', { username: 'tollgate', password_file: password, tls: clientTls }),
      service('badpw', { username: 'tollgate', password_file: wrong, tls: clientTls }),
      service('nocert', { username: 'tollgate', password_file: password, tls: { ca_file: ca.cert } }),
      billing('billing', clientTls),
      billing('billing-nocert', { ca_file: ca.cert }),
      billing('billing-badtoken', clientTls, wrong),
    ],
  });
});
after(async () => {
  await gw?.close();
  await etcd?.close();
  await consul?.close();
  await a?.close();
});

type Discovery = { state: string; targets: number; last_error?: string };
async function discovery(service: string): Promise<Discovery> {
  const all = (await (await fetch(`${gw.adminUrl}/health`)).json()) as Array<{ service: string; discovery: Discovery }>;
  return all.find((h) => h.service === service)!.discovery;
}

test('over TLS with a client certificate and a password, the targets come from etcd', { skip }, async () => {
  const served = await eventually(async () => {
    const res = await fetch(`${gw.url}/shop/x`);
    return res.status === 200 ? ((await res.json()) as { name: string }).name : undefined;
  });
  assert.equal(served, 'a');
  const d = await discovery('shop');
  assert.deepEqual([d.state, d.targets], ['synced', 1]);
});

test('a wrong password gets no targets, and /health says etcd refused it', { skip }, async () => {
  const d = await eventually(async () => {
    const got = await discovery('badpw');
    return got.last_error ? got : undefined;
  });
  assert.match(d?.last_error ?? '', /authenticate.*authentication failed/);
  assert.equal(d?.targets, 0);
  const res = await fetch(`${gw.url}/badpw/x`);
  await res.arrayBuffer();
  assert.equal(res.status, 503);
});

test('without a client certificate etcd refuses the connection: no targets, the error in /health', {
  skip,
}, async () => {
  const d = await eventually(async () => {
    const got = await discovery('nocert');
    return got.last_error ? got : undefined;
  });
  assert.match(d?.last_error ?? '', /^etcd https:\/\/127\.0\.0\.1:\d+\/v3\/auth\/authenticate: .*bad certificate/);
  assert.equal(d?.targets, 0);
  assert.notEqual(d?.state, 'synced');
});

test("Consul's HTTPS API with client certificates and ACLs: a certificate and a token read targets", {
  skip,
}, async () => {
  const served = await eventually(async () => {
    const res = await fetch(`${gw.url}/billing/x`);
    return res.status === 200 ? ((await res.json()) as { name: string }).name : undefined;
  });
  assert.equal(served, 'a');
  assert.equal((await discovery('billing')).state, 'synced');
  const refused = await eventually(async () => {
    const got = await discovery('billing-nocert');
    return got.last_error ? got : undefined;
  });
  assert.equal(refused?.targets, 0);
  assert.notEqual(refused?.state, 'synced');
  const denied = await eventually(async () => {
    const got = await discovery('billing-badtoken');
    return got.last_error ? got : undefined;
  });
  assert.match(denied?.last_error ?? '', /answered 403: ACL not found/);
  assert.equal(denied?.targets, 0);
});

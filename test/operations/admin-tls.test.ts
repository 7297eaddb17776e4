// The admin API over HTTPS (admin.tls): its routes answer over TLS with the token, plaintext gets no answer, a
// renewed certificate applies on the reload endpoint it serves, and with client certificates required a client
// without one fails the handshake; its handshakes, refusals and certificate are counted as listener="admin".
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { issue, makeCa, renewer, revocationList } from '../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { handshake, httpsGet, type TlsClientOptions } from '../helpers/tls-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-admin-tls-'));
const ca = makeCa(join(dir, 'ca'));
const clientCa = makeCa(join(dir, 'clients'), 'client-ca');
const operator = issue(join(dir, 'clients'), clientCa, { cn: 'operator', client: true });
const departed = issue(join(dir, 'clients'), clientCa, { cn: 'departed', client: true });
const crl = join(dir, 'clients.crl.pem');
const { served: site, renew } = renewer(dir, ca, 'admin.test');
/** A listener's certificate that expires in 10 days, with its CA after it (stapling needs the issuer). */
const soon = (() => {
  const leaf = issue(dir, ca, {
    cn: 'api.test',
    dns: ['api.test', 'www.api.test'],
    rsa: true,
    end: new Date(Date.now() + 10 * 86400_000),
    ocsp: 'http://127.0.0.1:9/',
  });
  const cert = join(dir, 'api-chain.pem');
  writeFileSync(cert, readFileSync(leaf.cert, 'utf8') + readFileSync(ca.cert, 'utf8'));
  return { cert, key: leaf.key };
})();
const TOKEN = 'admin-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };
const client: TlsClientOptions = { ca: ca.cert, servername: 'admin.test' };
let gw: TestGateway;
let mtls: TestGateway;

before(async () => {
  renew(1);
  copyFileSync(revocationList(dir, clientCa, [], 'none-revoked'), crl);
  gw = await startGateway({
    admin: { token: TOKEN, tls: { certificates: [site] } },
    listeners: [{ name: 'public', listen: '127.0.0.1:0', tls: { certificates: [soon], ocsp_stapling: {} } }],
    services: [],
  });
  mtls = await startGateway({
    admin: { tls: { certificates: [site], client_certificates: { ca: clientCa.cert, crl } } },
    services: [],
  });
});
after(async () => {
  await gw?.close();
  await mtls?.close();
});

test('the admin API answers over HTTPS, with its token; plaintext HTTP gets a 400 that says so', async () => {
  const port = gw.admin.port;
  const config = await httpsGet(port, '/config', client, bearer);
  assert.equal(config.status, 200);
  assert.equal(JSON.parse(config.text).version, 1);
  assert.equal((await httpsGet(port, '/config', client)).status, 401);
  assert.equal((await httpsGet(port, '/console/', client, bearer)).status, 200, 'the console too');
  const plain = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(plain.status, 400);
  assert.equal(((await plain.json()) as { code: string }).code, 'GW_ERR_PLAIN_HTTP_ON_TLS');
});

test('a renewed certificate applies on POST /config/tls/reload, over the connection it renews', async () => {
  assert.equal((await handshake(gw.admin.port, client)).cn, 'v1.admin.test');
  renew(2);
  const reloaded = await httpsGet(gw.admin.port, '/config/tls/reload', client, bearer, 'POST');
  assert.equal(reloaded.status, 200, reloaded.text);
  assert.equal((await handshake(gw.admin.port, client)).cn, 'v2.admin.test');
  assert.equal((await httpsGet(gw.admin.port, '/healthz', client)).status, 200);
});

test('with client certificates required, one without fails the handshake; one with it is answered', async () => {
  await assert.rejects(httpsGet(mtls.admin.port, '/healthz', client));
  const withCert = { ...client, cert: operator.cert, key: operator.key };
  assert.equal((await httpsGet(mtls.admin.port, '/config', withCert)).status, 200);
});

test('GET /config/tls/certificates lists what every listener serves, the soonest to expire first', async () => {
  const answer = await httpsGet(gw.admin.port, '/config/tls/certificates', client, bearer);
  assert.equal(answer.status, 200, answer.text);
  const [first, second, ...rest] = JSON.parse(answer.text);
  assert.deepEqual(rest, []);
  assert.equal(first.served_by, 'listeners/public');
  assert.equal(first.file, soon.cert);
  assert.equal(first.subject, 'CN=api.test');
  assert.equal(first.issuer, 'CN=ca');
  assert.deepEqual(first.names, ['api.test', 'www.api.test']);
  assert.equal(first.key_type, 'rsa');
  assert.equal(first.ocsp_stapling, true);
  assert.ok(Math.abs(first.expires_in_s - 10 * 86400) < 120, `${first.expires_in_s}`);
  assert.ok(Math.abs(Date.parse(first.not_after) - (Date.now() + first.expires_in_s * 1000)) < 2000);
  assert.equal(second.served_by, 'admin');
  assert.deepEqual([second.file, second.key_type, second.ocsp_stapling], [site.cert, 'ec', false]);
  assert.equal((await httpsGet(gw.admin.port, '/config/tls/certificates', client)).status, 401);
});

/** The admin listener's series of `name` in its own /metrics, read over HTTPS: labels → value. */
async function adminSeries(gateway: TestGateway, name: string, o: TlsClientOptions): Promise<Map<string, number>> {
  const answer = await httpsGet(gateway.admin.port, '/metrics', o, bearer);
  assert.equal(answer.status, 200, answer.text);
  const series = new Map<string, number>();
  for (const line of answer.text.split('\n')) {
    const m = /^(\w+)\{([^}]*listener="admin"[^}]*)\} (\S+)$/.exec(line);
    if (m?.[1] === name) series.set(m[2]!, Number(m[3]));
  }
  return series;
}

test('the admin listener counts its handshakes and refusals, and its certificate is in the expiry gauge', async () => {
  const served = await handshake(gw.admin.port, client);
  const expiry = await adminSeries(gw, 'tollgate_tls_certificate_expiry_timestamp_seconds', client);
  const notAfter = Math.floor(new X509Certificate(readFileSync(site.cert)).validToDate.getTime() / 1000);
  assert.deepEqual(
    [...expiry],
    [[`listener="admin",certificate="${site.cert}",subject="CN=${served.cn}"`, notAfter]],
    'the certificate served now, once',
  );
  const handshakes = await adminSeries(gw, 'tollgate_tls_handshakes_total', client);
  assert.ok((handshakes.get('listener="admin",version="TLSv1.3",protocol="http/1.1"') ?? 0) >= 2, `${[...handshakes]}`);

  const withCert = { ...client, cert: operator.cert, key: operator.key };
  const refused = async () =>
    (await adminSeries(mtls, 'tollgate_connections_refused_total', withCert)).get(
      'listener="admin",reason="no_client_certificate"',
    ) ?? 0;
  const before = await refused();
  await assert.rejects(httpsGet(mtls.admin.port, '/healthz', client));
  assert.ok(await eventually(async () => (await refused()) === before + 1, 2000), `refusals: ${await refused()}`);
});

test('a new CRL ends the admin connections let in before it: a revoked operator cannot go on over one', async () => {
  const socket = connect({
    host: '127.0.0.1',
    port: mtls.admin.port,
    ca: readFileSync(ca.cert),
    servername: 'admin.test',
    cert: readFileSync(departed.cert),
    key: readFileSync(departed.key),
  });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('secureConnect', r));
  let text = '';
  socket.on('data', (chunk) => (text += chunk));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  assert.ok(await eventually(async () => text.includes('"ok"')), 'answered over a keep-alive connection');
  copyFileSync(revocationList(dir, clientCa, [departed], 'departed-revoked'), crl);
  const withCert = { ...client, cert: operator.cert, key: operator.key };
  assert.equal((await httpsGet(mtls.admin.port, '/config/tls/reload', withCert, {}, 'POST')).status, 200);
  const ended = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(r, 1000, false))]);
  assert.equal(ended, true, "the revoked operator's open connection was closed");
});

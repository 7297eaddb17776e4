// Certificate revocation lists for client certificates (listeners[].tls.client_certificates.crl): a revoked
// certificate from the right CA is refused as a stranger's is; a new list applies when its file changes or on the
// admin API's reload, to new connections; a file that holds no CRL is refused whole and the old list keeps serving.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { admin } from '../../helpers/admin.ts';
import { issue, makeCa, revocationList } from '../../helpers/certs.ts';
import { eventually, service, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { refusals } from '../../helpers/metrics.ts';
import { handshake, httpsGet, type TlsClientOptions } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-crl-'));
const serverCa = makeCa(join(dir, 'server'));
const clientCa = makeCa(join(dir, 'clients'), 'client-ca');
const server = issue(dir, serverCa, { cn: 'api.test', dns: ['api.test'] });
const leaf = (cn: string) => issue(join(dir, 'clients'), clientCa, { cn, client: true });
const [alice, mallory, bob] = [leaf('alice'), leaf('mallory'), leaf('bob')];
const as = (c: { cert: string; key: string }): TlsClientOptions => ({ ca: serverCa.cert, cert: c.cert, key: c.key });
/** The file the config names; lists are copied over it. */
const crl = join(dir, 'clients.crl.pem');
copyFileSync(revocationList(dir, clientCa, [mallory], 'first'), crl);

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream('up');
  const tls = (required: boolean) => ({
    certificates: [server],
    client_certificates: { ca: clientCa.cert, crl, required },
  });
  gw = await startGateway({
    proxy: { tls_files_check_ms: 100 },
    listeners: [
      { name: 'required', listen: '127.0.0.1:0', tls: tls(true) },
      { name: 'optional', listen: '127.0.0.1:0', tls: tls(false) },
    ],
    services: [
      {
        ...service('secure', [upstream.url], [{ paths: ['/secure'] }]),
        auth: { type: 'mtls', mtls: { require_app: false } },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
});

const accepted = (port: number, who: { cert: string; key: string }) =>
  handshake(port, as(who)).then(
    () => true,
    () => false,
  );

test('a revoked certificate fails the handshake and is counted; the same CA’s others pass', async () => {
  const port = gw.port('required');
  assert.equal(await accepted(port, alice), true);
  assert.equal(await accepted(port, mallory), false);
  await eventually(async () => (await refusals(gw, 'required', 'bad_client_certificate')) === 1);
  assert.equal(await refusals(gw, 'required', 'bad_client_certificate'), 1);
  // Where certificates are optional a revoked one identifies no one: an mtls route refuses it.
  const optional = gw.port('optional');
  assert.equal((await httpsGet(optional, '/secure', as(alice))).status, 200);
  assert.equal((await httpsGet(optional, '/secure', as(mallory))).status, 401);
});

test('a new list applies when its file changes; one that holds no CRL is refused and the old one serves', async () => {
  const port = gw.port('required');
  copyFileSync(revocationList(dir, clientCa, [mallory, alice], 'second'), crl);
  assert.equal(await eventually(async () => !(await accepted(port, alice)), 5000), true, 'alice revoked');
  assert.equal(await accepted(port, bob), true);

  writeFileSync(crl, 'not a revocation list\n');
  const refused = await admin(gw, 'POST', '/config/tls/reload');
  assert.equal(refused.status, 400);
  assert.deepEqual(
    refused.json.errors.map((e: { path: string }) => e.path),
    ['/listeners/0/tls/client_certificates/crl', '/listeners/1/tls/client_certificates/crl'],
  );
  assert.match(refused.json.errors[0].message, /holds no PEM certificate revocation list/);
  assert.equal(await accepted(port, alice), false, 'the second list still serves');
  assert.equal(await accepted(port, bob), true);
});

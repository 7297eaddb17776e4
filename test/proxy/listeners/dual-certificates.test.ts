// RSA and ECDSA certificates for the same names on one listener: each client gets the one its signature
// algorithms take (a modern client ECDSA, an RSA-only one RSA), by SNI and for a name none holds; one that names
// no server gets the first pair's ECDSA one. Each has its own expiry in the gauge.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { issue, makeCa } from '../../helpers/certs.ts';
import { startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { metric } from '../../helpers/metrics.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-dual-'));
const ca = makeCa(dir);
mkdirSync(join(dir, 'rsa'));
const ecdsa = issue(dir, ca, { cn: 'api.test', dns: ['api.test'] });
const rsa = issue(join(dir, 'rsa'), ca, { cn: 'api.test', dns: ['api.test'], rsa: true });
const www = issue(dir, ca, { cn: 'www.test', dns: ['www.test'] });
const wwwRsa = issue(join(dir, 'rsa'), ca, { cn: 'www.test', dns: ['www.test'], rsa: true });
let gw: TestGateway;

before(async () => {
  gw = await startGateway({
    listeners: [{ name: 'public', listen: '127.0.0.1:0', tls: { certificates: [ecdsa, rsa, www, wwwRsa] } }],
    services: [],
  });
});
after(() => gw?.close());

/** The key type of the certificate a client that signs with `sigalgs` (TLS `version`) is served. */
function served(sigalgs: string | undefined, servername = '', version: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3') {
  return new Promise<string | undefined>((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port: gw.port('public'),
        servername,
        ca: readFileSync(ca.cert),
        checkServerIdentity: () => undefined,
        ...(sigalgs ? { sigalgs } : {}),
        minVersion: version,
        maxVersion: version,
      },
      () => {
        resolve(new X509Certificate(socket.getPeerCertificate().raw).publicKey.asymmetricKeyType);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

const ECDSA_ONLY = 'ecdsa_secp256r1_sha256';
const RSA_ONLY = 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256';

test('a client that takes ECDSA gets the ECDSA certificate, an RSA-only one the RSA one, for each name', async () => {
  for (const name of ['api.test', 'www.test', 'elsewhere.test']) {
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      const at = `${name} over ${version}`;
      assert.equal(await served(ECDSA_ONLY, name, version), 'ec', `ECDSA for ${at}`);
      assert.equal(await served(RSA_ONLY, name, version), 'rsa', `RSA for ${at}`);
      assert.equal(await served(undefined, name, version), 'ec', `ECDSA for a client that takes both, ${at}`);
    }
  }
});

test('a client naming no server gets the first pair’s ECDSA certificate, an RSA-only one no handshake', async () => {
  assert.equal(await served(undefined, ''), 'ec');
  assert.equal(await served(ECDSA_ONLY, '', 'TLSv1.2'), 'ec');
  await assert.rejects(served(RSA_ONLY, ''), /handshake failure/);
});

test('a client whose only ECDSA algorithm is another curve’s gets the RSA certificate, not a failure', async () => {
  // The ECDSA certificate is P-256; over TLS 1.3 ecdsa_secp384r1_sha384 cannot verify it.
  assert.equal(await served('ecdsa_secp384r1_sha384:rsa_pss_rsae_sha256', 'api.test'), 'rsa');
  assert.equal(await served('ecdsa_secp384r1_sha384:ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256', 'api.test'), 'ec');
});

test('each certificate of a pair has its own expiry in the gauge', async () => {
  for (const c of [ecdsa, rsa]) {
    const notAfter = Date.parse(new X509Certificate(readFileSync(c.cert)).validTo) / 1000;
    const labels = `listener="public",certificate="${c.cert}",subject="CN=api.test"`;
    assert.equal(await metric(gw, 'tollgate_tls_certificate_expiry_timestamp_seconds', labels), notAfter);
  }
});

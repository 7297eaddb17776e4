// A TLS listener's `ciphers` and `ecdh_curves` (issue 32: "cipher and curve lists configurable") decide what a
// handshake uses, over TLS 1.2 and 1.3 alike; a client that offers none of them is refused, and counted.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { refusals } from '../../helpers/metrics.ts';
import { handshake, type TlsClientOptions } from '../../helpers/tls-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-ciphers-'));
const ca = makeCa(dir);
const main = issue(dir, ca, { cn: 'default.test', dns: ['default.test'] }); // an ECDSA P-256 key
let gw: TestGateway;

// Only handshakes are made: no service is needed behind the listener.
before(async () => {
  gw = await startGateway({
    listeners: [
      {
        name: 'narrow',
        listen: '127.0.0.1:0',
        tls: {
          certificates: [main],
          ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256',
          ecdh_curves: 'P-384',
        },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
});

/** The cipher suite and key-exchange curve a handshake with `options` settled on. */
async function negotiated(
  options: Omit<TlsClientOptions, 'ca'>,
): Promise<{ cipher: string; curve: string | undefined }> {
  const { cipher, curve } = await handshake(gw.port('narrow'), { ca: ca.cert, servername: 'default.test', ...options });
  return { cipher, curve };
}

test('a handshake uses the listed cipher and curve, over TLS 1.2 and TLS 1.3', async () => {
  assert.deepEqual(await negotiated({ maxVersion: 'TLSv1.2' }), {
    cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    curve: 'secp384r1',
  });
  assert.deepEqual(await negotiated({}), { cipher: 'TLS_AES_128_GCM_SHA256', curve: 'secp384r1' });
});

test('a client offering none of the ciphers, or none of the curves, is refused and counted', async () => {
  const before = await refusals(gw, 'narrow', 'tls_handshake');
  await assert.rejects(negotiated({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }));
  await assert.rejects(negotiated({ ciphers: 'TLS_AES_256_GCM_SHA384' }), 'nor TLS 1.3 with another suite');
  await assert.rejects(negotiated({ ecdhCurve: 'P-256' }));
  assert.ok(await eventually(async () => (await refusals(gw, 'narrow', 'tls_handshake')) === before + 3, 2000));
});

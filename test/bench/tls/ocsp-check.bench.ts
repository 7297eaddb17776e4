/**
 * What reading an OCSP response costs the thread that staples it: checkOcspResponse (gateway/proxy/net/ocsp.ts) on
 * a response `openssl ocsp` signed with the CA's key, and on one a delegated responder signed (its certificate in
 * the response), 2,000 times each after 200 to warm up. Run: node test/bench/tls/ocsp-check.bench.ts
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOcspResponse, ocspRequest } from '../../../gateway/proxy/net/ocsp.ts';
import { issue, makeCa } from '../../helpers/certs.ts';
import { startOcspResponder } from '../../helpers/ocsp-responder.ts';

const N = 2000;
const dir = mkdtempSync(join(tmpdir(), 'tollgate-ocsp-bench-'));
const ca = makeCa(join(dir, 'ca'));
const leaf = issue(dir, ca, { cn: 'site.test', dns: ['site.test'] });
const delegate = issue(dir, ca, { cn: 'responder', ocspSigning: true });
const subject = {
  leaf: new X509Certificate(readFileSync(leaf.cert)),
  issuer: new X509Certificate(readFileSync(ca.cert)),
};

for (const [name, signer] of [
  ['signed by the CA', undefined],
  ['signed by a delegated responder', delegate],
] as const) {
  const responder = await startOcspResponder(ca, { signer });
  responder.leaves = [leaf];
  const res = await fetch(responder.url, { method: 'POST', body: new Uint8Array(ocspRequest(subject)) });
  const der = Buffer.from(await res.arrayBuffer());
  await responder.close();
  for (let i = 0; i < 200; i++) checkOcspResponse(der, subject);
  const start = performance.now();
  for (let i = 0; i < N; i++) checkOcspResponse(der, subject);
  console.log(`${name}: ${(((performance.now() - start) / N) * 1000).toFixed(0)} µs a check`);
}

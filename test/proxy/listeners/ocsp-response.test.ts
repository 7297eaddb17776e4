// What an OCSP response must be before a listener staples it (gateway/proxy/net/ocsp.ts), against responses that
// `openssl ocsp` makes for the request the gateway sends: good from the CA or a responder it delegated to; revoked;
// unknown; signed by someone else; about another certificate; expired; not OCSP at all; an error status.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkOcspResponse, ocspRequest, type OcspSubject } from '../../../gateway/proxy/net/ocsp.ts';
import { type Issued, issue, makeCa, revoke } from '../../helpers/certs.ts';
import { type OcspResponder, startOcspResponder } from '../../helpers/ocsp-responder.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-ocsp-check-'));
const ca = makeCa(join(dir, 'ca'));
const otherCa = makeCa(join(dir, 'other'), 'other-ca');
const site = issue(dir, ca, { cn: 'site.test', dns: ['site.test'] });
const gone = issue(dir, ca, { cn: 'gone.test', dns: ['gone.test'] });
const stranger = issue(dir, ca, { cn: 'stranger.test', dns: ['stranger.test'] });
const delegate = issue(dir, ca, { cn: 'responder', ocspSigning: true });
const notDelegated = issue(dir, ca, { cn: 'not-a-responder' });
const foreign = issue(join(dir, 'other'), otherCa, { cn: 'foreign', ocspSigning: true });
revoke(ca, gone);

const x509 = (file: string) => new X509Certificate(readFileSync(file));
const subjectOf = (leaf: Issued): OcspSubject => ({ leaf: x509(leaf.cert), issuer: x509(ca.cert) });
const responders: OcspResponder[] = [];
after(() => Promise.all(responders.map((r) => r.close())));

/** What `signer`'s responder (knowing site and gone) answers when asked for `leaf`. */
async function answer(leaf: Issued, signer?: Issued, minutes = 5): Promise<Buffer> {
  const responder = await startOcspResponder(ca, { signer, minutes });
  responders.push(responder);
  responder.leaves = [site, gone];
  const res = await fetch(responder.url, { method: 'POST', body: new Uint8Array(ocspRequest(subjectOf(leaf))) });
  return Buffer.from(await res.arrayBuffer());
}

test('a good response signed by the issuer may be stapled until its nextUpdate', async () => {
  const before = Date.now();
  const verdict = checkOcspResponse(await answer(site, undefined, 5), subjectOf(site));
  assert.equal(verdict.status, 'good');
  assert.ok(verdict.status === 'good' && verdict.nextUpdateMs !== undefined);
  assert.ok(Math.abs(verdict.nextUpdateMs - (before + 5 * 60_000)) < 5000, 'nextUpdate is 5 minutes on');
});

test('a good response from a responder the issuer delegated OCSP signing to is accepted', async () => {
  assert.equal(checkOcspResponse(await answer(site, delegate), subjectOf(site)).status, 'good');
});

test('a response signed by a certificate without OCSP signing, or by another CA, is refused', async () => {
  for (const signer of [notDelegated, foreign]) {
    const verdict = checkOcspResponse(await answer(site, signer), subjectOf(site));
    assert.deepEqual(verdict, {
      status: 'bad_response',
      message: 'it is signed neither by the issuer nor by a responder the issuer authorised (OCSP signing)',
    });
  }
});

test('revoked and unknown certificates are told apart from good ones', async () => {
  const revoked = checkOcspResponse(await answer(gone), subjectOf(gone));
  assert.equal(revoked.status, 'revoked');
  assert.match(revoked.status === 'revoked' ? revoked.message : '', /^revoked at \d{4}-/);
  assert.equal(checkOcspResponse(await answer(stranger), subjectOf(stranger)).status, 'unknown');
});

test('a response about another certificate, or past its nextUpdate, is refused', async () => {
  const der = await answer(site, undefined, 1);
  assert.deepEqual(checkOcspResponse(der, subjectOf(gone)), {
    status: 'bad_response',
    message: 'it holds no status for this certificate',
  });
  const later = checkOcspResponse(der, subjectOf(site), Date.now() + 2 * 60_000);
  assert.equal(later.status, 'bad_response');
  assert.match(later.status === 'bad_response' ? later.message : '', /^it expired at its nextUpdate/);
});

test('bytes that are not OCSP, and a responder error status, are refused with what they were', () => {
  const garbage = checkOcspResponse(Buffer.from('<html>maintenance</html>'), subjectOf(site));
  assert.equal(garbage.status, 'bad_response');
  assert.match(garbage.status === 'bad_response' ? garbage.message : '', /^not an OCSP response/);
  // OCSPResponse { responseStatus tryLater(3) }, as RFC 6960 4.2.1 has a busy responder answer.
  assert.deepEqual(checkOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]), subjectOf(site)), {
    status: 'bad_response',
    message: 'the responder answered tryLater',
  });
});

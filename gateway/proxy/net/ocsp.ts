// OCSP (RFC 6960) as a TLS server staples it: the request for one certificate, and the checks a response must pass
// before it is sent to clients. The DER is read and written by @peculiar/asn1-ocsp; signatures are checked by
// node:crypto. Loaded only when a listener staples.
import { createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertID,
  id_kp_OCSPSigning,
  id_pkix_ocsp_basic,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';

/** The certificate a response is about, and the CA that issued it (the second certificate of the cert file). */
export interface OcspSubject {
  leaf: X509Certificate;
  issuer: X509Certificate;
}

export type OcspVerdict =
  | { status: 'good'; thisUpdateMs: number; nextUpdateMs: number | undefined }
  | { status: 'revoked' | 'unknown' | 'bad_response'; message: string };

const HASHES: Record<string, string> = { '1.3.14.3.2.26': 'sha1', '2.16.840.1.101.3.4.2.1': 'sha256' };
/** Signature algorithms by OID → the digest node:crypto verifies with (null: EdDSA, which names none). */
const SIGNATURES: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
  '1.3.101.113': null,
};
/** How far a responder's clock may run ahead of ours. */
const CLOCK_SKEW_MS = 5 * 60_000;

const asn1 = (cert: X509Certificate) => AsnConvert.parse(cert.raw, Certificate);
const digest = (hash: string, data: ArrayBuffer) => createHash(hash).update(new Uint8Array(data)).digest();
const same = (a: ArrayBuffer, b: ArrayBuffer) => Buffer.from(a).equals(Buffer.from(b));

/** Each subject's CertIDs by hash: parsing the certificates is most of what a check costs (~2 ms). */
const certIds = new WeakMap<OcspSubject, Map<string, CertID>>();

/** Identifies `leaf` to a responder: hashes of its issuer's name and key (by `hash`), and its serial number. */
function certIdOf(subject: OcspSubject, hash = 'sha1'): CertID {
  const known = certIds.get(subject) ?? new Map<string, CertID>();
  certIds.set(subject, known);
  let id = known.get(hash);
  if (id === undefined) known.set(hash, (id = newCertId(subject, hash)));
  return id;
}

function newCertId({ leaf, issuer }: OcspSubject, hash: string): CertID {
  const issuerTbs = asn1(issuer).tbsCertificate;
  const oid = Object.keys(HASHES).find((k) => HASHES[k] === hash) as string;
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: oid, parameters: null }),
    issuerNameHash: new OctetString(digest(hash, AsnConvert.serialize(issuerTbs.subject))),
    issuerKeyHash: new OctetString(digest(hash, issuerTbs.subjectPublicKeyInfo.subjectPublicKey)),
    serialNumber: asn1(leaf).tbsCertificate.serialNumber,
  });
}

/** The DER request for `subject`'s status, without a nonce: a stapled response is shared by every client. */
export function ocspRequest(subject: OcspSubject): Buffer {
  const request = new OCSPRequest({
    tbsRequest: new TBSRequest({ requestList: [new Request({ reqCert: certIdOf(subject) })] }),
  });
  return Buffer.from(AsnConvert.serialize(request));
}

/**
 * What a responder's answer says of `subject` at `nowMs`. Only `good` may be stapled: the response must be
 * successful, about this certificate, signed by its issuer or by a responder the issuer delegated OCSP signing to,
 * current (thisUpdate not in the future, nextUpdate not past), and say good.
 */
export function checkOcspResponse(der: Uint8Array, subject: OcspSubject, nowMs = Date.now()): OcspVerdict {
  const bad = (message: string): OcspVerdict => ({ status: 'bad_response', message });
  let basic: BasicOCSPResponse;
  try {
    const response = AsnConvert.parse(der, OCSPResponse);
    if (response.responseStatus !== OCSPResponseStatus.successful)
      return bad(`the responder answered ${OCSPResponseStatus[response.responseStatus] ?? response.responseStatus}`);
    if (response.responseBytes?.responseType !== id_pkix_ocsp_basic) return bad('not a basic OCSP response');
    basic = AsnConvert.parse(response.responseBytes.response.buffer, BasicOCSPResponse);
  } catch (e) {
    return bad(`not an OCSP response: ${(e as Error).message}`);
  }
  const single = basic.tbsResponseData.responses.find((r) => {
    const hash = HASHES[r.certID.hashAlgorithm.algorithm];
    if (hash === undefined) return false;
    const ours = certIdOf(subject, hash);
    return (
      same(r.certID.serialNumber, ours.serialNumber) &&
      same(r.certID.issuerNameHash.buffer, ours.issuerNameHash.buffer) &&
      same(r.certID.issuerKeyHash.buffer, ours.issuerKeyHash.buffer)
    );
  });
  if (single === undefined) return bad('it holds no status for this certificate');
  const signed = signatureProblem(basic, subject.issuer);
  if (signed) return bad(signed);
  const thisUpdateMs = single.thisUpdate.getTime();
  const nextUpdateMs = single.nextUpdate?.getTime();
  if (thisUpdateMs > nowMs + CLOCK_SKEW_MS) return bad(`its thisUpdate (${single.thisUpdate.toISOString()}) is ahead`);
  if (nextUpdateMs !== undefined && nextUpdateMs <= nowMs)
    return bad(`it expired at its nextUpdate (${single.nextUpdate?.toISOString()})`);
  const status = single.certStatus;
  if (status.revoked)
    return { status: 'revoked', message: `revoked at ${status.revoked.revocationTime.toISOString()}` };
  if (status.good === undefined) return { status: 'unknown', message: 'the responder does not know the certificate' };
  return { status: 'good', thisUpdateMs, nextUpdateMs };
}

/** Why `basic`'s signature is not the issuer's or an authorised responder's; undefined when it is. */
function signatureProblem(basic: BasicOCSPResponse, issuer: X509Certificate): string | undefined {
  const algorithm = basic.signatureAlgorithm.algorithm;
  const hash = SIGNATURES[algorithm];
  if (hash === undefined) return `its signature algorithm (${algorithm}) is not supported`;
  if (basic.tbsResponseDataRaw === undefined) return 'its signed part could not be read';
  const data = new Uint8Array(basic.tbsResponseDataRaw);
  const signature = new Uint8Array(basic.signature);
  // A delegated responder's certificate travels in the response: issued by the same CA, for OCSP signing.
  const delegates = (basic.certs ?? [])
    .map((c) => new X509Certificate(Buffer.from(AsnConvert.serialize(c))))
    .filter((c) => c.checkIssued(issuer) && c.verify(issuer.publicKey) && c.keyUsage?.includes(id_kp_OCSPSigning));
  for (const signer of [issuer, ...delegates])
    if (verifySignature(hash, data, signer.publicKey, signature)) return undefined;
  return 'it is signed neither by the issuer nor by a responder the issuer authorised (OCSP signing)';
}

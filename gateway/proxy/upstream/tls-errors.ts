/**
 * TLS failures with an upstream, by the error code Node gives them: which
 * ones mean the request was never sent, and a reason an operator can act on.
 */

const UNKNOWN_CA =
  'unknown CA: no CA this upstream trusts issued its certificate (trust a private CA with upstream.tls.ca_file)';
const NAME_MISMATCH =
  'certificate name mismatch: the certificate does not hold the TLS ' +
  "name (the target's host or DNS name, or upstream.tls.server_name)";

/** Certificate checks Node makes before it hands the connection to undici, so no byte of the request was sent. */
const CERTIFICATE_FAILURES: ReadonlyMap<string, string> = new Map([
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', UNKNOWN_CA],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', UNKNOWN_CA],
  ['UNABLE_TO_GET_ISSUER_CERT', UNKNOWN_CA],
  ['SELF_SIGNED_CERT_IN_CHAIN', UNKNOWN_CA],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', UNKNOWN_CA],
  ['CERT_UNTRUSTED', UNKNOWN_CA],
  ['ERR_TLS_CERT_ALTNAME_INVALID', NAME_MISMATCH],
  ['HOSTNAME_MISMATCH', NAME_MISMATCH],
  ['CERT_HAS_EXPIRED', "the upstream's certificate has expired"],
  ['CERT_NOT_YET_VALID', "the upstream's certificate is not valid yet (or a clock is wrong)"],
  ['CERT_SIGNATURE_FAILURE', "a signature in the upstream's certificate chain does not verify"],
  ['CERT_REJECTED', "the upstream's certificate is not trusted for this purpose"],
  ['INVALID_PURPOSE', "the upstream's certificate is not for TLS servers"],
  ['INVALID_CA', "a certificate in the upstream's chain is not a CA"],
  ['CERT_CHAIN_TOO_LONG', "the upstream's certificate chain is too long"],
  ['PATH_LENGTH_EXCEEDED', "the upstream's certificate chain exceeds a CA's path length"],
]);

const HANDSHAKE_REFUSED =
  'the upstream refused the handshake (a client certificate it requires, or no common version or cipher)';
const BAD_CLIENT_CERT = 'the upstream refused the client certificate';

/**
 * Alerts from the upstream's side of the handshake (OpenSSL 3 spells some
 * `SSL/TLS_ALERT`, older ones `SSLV3_ALERT`); the request may already have
 * been written, so they are not retried. A TLS 1.3 upstream that refuses a
 * client certificate (or its absence) after the handshake mostly just closes:
 * undici reports UND_ERR_SOCKET `other side closed`, which says nothing of TLS.
 */
const HANDSHAKE_FAILURES: ReadonlyMap<string, string> = new Map([
  [
    'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    'the upstream requires a client certificate (upstream.tls.cert_file and key_file)',
  ],
  ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', "the upstream does not trust the client certificate's CA"],
  ['ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE', BAD_CLIENT_CERT],
  ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', BAD_CLIENT_CERT],
  ['ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', HANDSHAKE_REFUSED],
  ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', HANDSHAKE_REFUSED],
  ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'no TLS version both sides accept (upstream.tls.min_version)'],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 'the target does not speak TLS on this port (an http target written as https?)'],
]);

/** The upstream's certificate failed the gateway's checks: the request never left, so another target may be tried. */
export function isCertificateFailure(code: string): boolean {
  return CERTIFICATE_FAILURES.has(code);
}

/** A reason for the failure log when `code` is a TLS failure; undefined otherwise (pino leaves the field out). */
export function tlsFailureReason(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  return CERTIFICATE_FAILURES.get(code) ?? HANDSHAKE_FAILURES.get(code);
}

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** Mozilla's whole CA bundle is ~220 kB: a larger file is a wrong path, not a PEM file. */
const MAX_FILE_BYTES = 1024 * 1024;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** O_NONBLOCK: a FIFO named by mistake must not hang the open; it is refused as not a regular file. */
export function readPemFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_FILE_BYTES)
      throw new Error(
        `${stat.size} bytes, more than a PEM file of certificates or a key holds (${MAX_FILE_BYTES} at most)`,
      );
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** What is wrong with a PEM file that must hold certificates, or undefined. Nothing of its content is quoted. */
export function certificatesProblem(text: string): string | undefined {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (e) {
      return `certificate ${i + 1} of ${blocks.length} is not valid (${(e as Error).message})`;
    }
  }
  return undefined;
}

/** `ENOENT: no such file or directory, open '/x'` → `no such file or directory` (the path is in the message already).
 * */
export function describe(e: unknown): string {
  const message = (e as Error).message;
  return /^E[A-Z]+: (.*?), \w+ '.*'$/.exec(message)?.[1] ?? message;
}

/** The PEM certificate blocks of `text`, in order. */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERT) ?? [];
}

/** The private key in `text`, or why it cannot be used (nothing of the key is quoted). */
export function privateKeyOf(text: string): KeyObject | string {
  try {
    return createPrivateKey(text);
  } catch (e) {
    return `not a usable unencrypted PEM private key (${(e as Error).message})`;
  }
}

/** Why `leaf` cannot be served now (expired, not yet valid), or undefined. */
export function validityProblem(leaf: X509Certificate, nowMs = Date.now()): string | undefined {
  if (Date.parse(leaf.validTo) < nowMs) return `the certificate expired on ${leaf.validTo}`;
  if (Date.parse(leaf.validFrom) > nowMs) return `the certificate is not valid before ${leaf.validFrom}`;
  return undefined;
}

/** A certificate's subject on one line, for messages. */
export function subjectOf(leaf: X509Certificate): string {
  // Node gives no subject at all for an empty one (a client certificate may have none).
  return leaf.subject ? leaf.subject.replace(/\n/g, ', ') : `no subject, serial ${leaf.serialNumber}`;
}

/** The OCSP responder URL a certificate names (Authority Information Access), if any. */
export function ocspUrlOf(leaf: X509Certificate): string | undefined {
  return /(?:^|\n)OCSP - URI:(\S+)/.exec(leaf.infoAccess ?? '')?.[1];
}

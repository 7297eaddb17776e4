import { createHash, X509Certificate } from 'node:crypto';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import { configPath } from '../../control/config/base-dir.ts';
import {
  certificatesProblem,
  describe,
  ocspUrlOf,
  pemCertificates,
  privateKeyOf,
  readPemFile,
  subjectOf,
  validityProblem,
} from '../net/pem.ts';
import type { ListenerTlsConfig } from './schema.ts';
import { ServerNames } from '../net/server-names.ts';

type Report = (path: string, message: string) => void;

/** node:tls loads on first use: a gateway without TLS never loads it (test/operations/loaded-modules.test.ts). */
function createContext(options: SecureContextOptions): SecureContext {
  return process.getBuiltinModule('node:tls').createSecureContext(options);
}

/** The text of the files a listener's `tls` names, as validation read and checked them. */
export interface ListenerPem {
  certificates: { cert: string; key: string }[];
  ca?: string;
  crl?: string;
  /** The session ticket key file's text (base64 of 48 bytes). */
  ticketKey?: string;
}

/**
 * A validated listener's `tls`, with `pem` attached by checkListenerTls: the
 * data plane builds its contexts from the very bytes that were checked (never
 * a file that changed in between), and new file text means a new config to
 * apply. Never part of a stored or published config.
 */
export type ListenerTls = ListenerTlsConfig & { pem?: ListenerPem };

/** A certificate as a listener serves it, for the expiry gauge and messages. */
export interface ServedCertificate {
  /** The cert file as configured. */
  file: string;
  subject: string;
  /** The DNS names SNI chooses it by, lower-case; `*.x` for a wildcard. */
  names: string[];
  notAfterMs: number;
}

/**
 * Checks a listener's `tls` and reads the files it names: each problem at its
 * field's path (a file that cannot be read, a key that is not the
 * certificate's, an expired certificate, a name two certificates hold, a
 * cipher list OpenSSL refuses); with none, attaches the files' text as `pem`.
 */
export function checkListenerTls(
  tls: ListenerTls,
  at: string,
  err: Report,
  env: NodeJS.ProcessEnv = process.env,
): void {
  let ok = true;
  const fail = (path: string, message: string) => {
    ok = false;
    err(path, message);
  };
  const read = (file: string, path: string): string | undefined => {
    const full = configPath(file, env);
    try {
      return readPemFile(full);
    } catch (e) {
      fail(path, `cannot read ${full}: ${describe(e)}`);
      return undefined;
    }
  };
  if (tls.min_version === 'TLSv1.3' && tls.max_version === 'TLSv1.2')
    fail(`${at}/min_version`, 'is newer than max_version');
  const pem: ListenerPem = { certificates: [] };
  const owners = new Map<string, number>();
  const pairs = new Map<string, { first: number; types: Set<string> }>();
  tls.certificates.forEach((c, i) => {
    const here = `${at}/certificates/${i}`;
    const cert = read(c.cert, `${here}/cert`);
    const key = read(c.key, `${here}/key`);
    if (cert === undefined || key === undefined) return;
    const problem = certificatesProblem(cert);
    if (problem) return fail(`${here}/cert`, `${c.cert}: ${problem}`);
    const leaf = new X509Certificate(pemCertificates(cert)[0]);
    const invalid = validityProblem(leaf);
    if (invalid) fail(`${here}/cert`, `${c.cert}: ${invalid}`);
    const privateKey = privateKeyOf(key);
    if (typeof privateKey === 'string') return fail(`${here}/key`, `${c.key}: ${privateKey}`);
    if (!leaf.checkPrivateKey(privateKey))
      return fail(`${here}/key`, `${c.key} is not the key of the certificate in ${c.cert} (${subjectOf(leaf)})`);
    const stapling = ocspProblem(tls, leaf, pemCertificates(cert)[1]);
    if (stapling) fail(`${here}/cert`, `${c.cert}: ${stapling}`);
    const names = namesOf(leaf);
    const type = privateKey.asymmetricKeyType ?? 'unknown';
    // Certificates that hold the same names with keys of other types (RSA and ECDSA) are a pair: each client gets
    // the one its signature algorithms take (CertificateTable).
    const pair = pairs.get(nameSetOf(names));
    if (pair !== undefined && !pair.types.has(type)) pair.types.add(type);
    else if (pair !== undefined)
      fail(
        `${here}/cert`,
        `${c.cert} holds the names of certificates/${pair.first} with a key of the same type (${type}): SNI would ` +
          'only ever choose that one (two certificates share names only with keys of different types)',
      );
    else if (names.length === 0 && i > 0)
      fail(`${here}/cert`, `${c.cert} holds no DNS name, so SNI can never choose it: make it the first (the default)`);
    else {
      for (const name of names) {
        const other = owners.get(name);
        if (other !== undefined)
          fail(
            `${here}/cert`,
            `${c.cert} holds ${name}, as certificates/${other} does: SNI would only ever choose that one`,
          );
        else owners.set(name, i);
      }
      pairs.set(nameSetOf(names), { first: i, types: new Set([type]) });
    }
    pem.certificates.push({ cert, key });
  });
  const client = tls.client_certificates;
  if (client !== undefined) {
    const ca = read(client.ca, `${at}/client_certificates/ca`);
    const problem = ca !== undefined ? certificatesProblem(ca) : undefined;
    if (problem) fail(`${at}/client_certificates/ca`, `${client.ca}: ${problem}`);
    else pem.ca = ca;
    if (client.crl !== undefined) {
      const crl = read(client.crl, `${at}/client_certificates/crl`);
      if (crl !== undefined && !crl.includes('-----BEGIN X509 CRL-----'))
        fail(`${at}/client_certificates/crl`, `${client.crl}: holds no PEM certificate revocation list (X509 CRL)`);
      else pem.crl = crl;
    }
  }
  if (tls.session_ticket_key !== undefined) {
    const text = read(tls.session_ticket_key, `${at}/session_ticket_key`);
    const bytes = text === undefined ? undefined : ticketKeyOf(text).length;
    if (bytes !== undefined && bytes !== TICKET_KEY_BYTES)
      fail(
        `${at}/session_ticket_key`,
        `${tls.session_ticket_key}: holds ${bytes} bytes in base64; a session ticket key is ${TICKET_KEY_BYTES} ` +
          'random bytes (openssl rand -base64 48)',
      );
    else pem.ticketKey = text;
  }
  if (!ok) return;
  try {
    // What the listener will build; anything OpenSSL refuses (a cipher list, a curve) is found now.
    for (const c of pem.certificates) createContext(contextOptions(tls, c, pem));
  } catch (e) {
    fail(at, `OpenSSL refuses these settings: ${(e as Error).message}`);
    return;
  }
  tls.pem = pem;
}

/** Why `leaf` cannot be stapled when `tls.ocsp_stapling` asks for it: no issuer after it, or no responder. */
function ocspProblem(tls: ListenerTlsConfig, leaf: X509Certificate, issuerPem: string | undefined): string | undefined {
  if (tls.ocsp_stapling === undefined) return undefined;
  if (issuerPem === undefined || !leaf.checkIssued(new X509Certificate(issuerPem)))
    return 'OCSP stapling needs the certificate that issued it next in the file (the chain, leaf first)';
  if (tls.ocsp_stapling.responder === undefined && ocspUrlOf(leaf) === undefined)
    return 'names no OCSP responder (Authority Information Access): set ocsp_stapling.responder';
  return undefined;
}

/** Hands each listener TLS file's path (as opened) and the text validation attached to `seen` (tlsFilesSeen). */
export function listenerFilesSeen(
  config: {
    listeners: { tls?: ListenerTlsConfig }[];
    streams?: { tls?: ListenerTlsConfig }[];
    admin?: { tls?: ListenerTlsConfig };
  },
  seen: (path: string, text: string | undefined) => void,
): void {
  // A stream that terminates TLS, and the admin listener, hold a listener's TLS.
  for (const listener of [...config.listeners, ...(config.streams ?? []), config.admin ?? {}]) {
    const tls = listener.tls as ListenerTls | undefined;
    if (tls?.pem === undefined) continue;
    tls.certificates.forEach((c, i) => {
      seen(configPath(c.cert), tls.pem?.certificates[i]?.cert);
      seen(configPath(c.key), tls.pem?.certificates[i]?.key);
    });
    const client = tls.client_certificates;
    if (client) seen(configPath(client.ca), tls.pem.ca);
    if (client?.crl !== undefined) seen(configPath(client.crl), tls.pem.crl);
    if (tls.session_ticket_key !== undefined) seen(configPath(tls.session_ticket_key), tls.pem.ticketKey);
  }
}

/** Node's ticket keys: a 16-byte name, a 16-byte HMAC key and a 16-byte AES key. */
const TICKET_KEY_BYTES = 48;

/** A session ticket key file's bytes: its text read as base64 (whitespace and a final newline ignored). */
function ticketKeyOf(text: string): Buffer {
  const b64 = text.replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]*={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
}

/**
 * The session ID context of a listener's sessions: a digest of how it checks client certificates (whether one is
 * required, the CAs, the CRLs). OpenSSL resumes a session (by ticket too) only under the context it began in, and a
 * resumed session skips the certificate's checks: with this, a new CA or CRL (a revoked certificate) ends resumption
 * for sessions from before it, and a ticket from a listener that asks for no certificate does not resume on one that
 * requires it, even with one ticket key file on both. The same files give the same context on every worker and every
 * instance, so a shared ticket key keeps resuming there (Node's default, a digest of the process's arguments, did not).
 */
export function sessionIdContext(tls: ListenerTlsConfig, { ca, crl }: ListenerPem): string {
  const client = tls.client_certificates;
  const trust = client === undefined ? 'none' : `${client.required ? 'required' : 'optional'}\0${ca}\0${crl ?? ''}`;
  // At most 32 bytes (SSL_MAX_SID_CTX_LENGTH): 32 hex digits.
  return createHash('sha256').update(`tollgate session v1\0${trust}`).digest('hex').slice(0, 32);
}

/** The options of one certificate's context: the listener's versions, ciphers, client CA and CRLs, session ID
 * context and session ticket key, with its files. */
export function contextOptions(
  tls: ListenerTlsConfig,
  files: { cert: string; key: string },
  pem: ListenerPem,
): SecureContextOptions {
  const { ca, crl, ticketKey } = pem;
  return {
    sessionIdContext: sessionIdContext(tls, pem),
    cert: files.cert,
    key: files.key,
    minVersion: tls.min_version,
    maxVersion: tls.max_version,
    ...(tls.ciphers !== undefined ? { ciphers: tls.ciphers } : {}),
    ...(tls.ecdh_curves !== undefined ? { ecdhCurve: tls.ecdh_curves } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(crl !== undefined ? { crl } : {}),
    ...(ticketKey !== undefined ? { ticketKeys: ticketKeyOf(ticketKey) } : {}),
  };
}

/** The DNS names a certificate is served for: its DNS subjectAltNames, or its subject CN when it has no SAN. */
export function namesOf(leaf: X509Certificate): string[] {
  const san = leaf.subjectAltName;
  // With a subjectAltName the CN is not a name (RFC 6125 6.4.4), even when the SAN holds only addresses.
  if (san !== undefined)
    return san
      .split(', ')
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4).toLowerCase());
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
  return cn !== undefined && /^[*a-z0-9.-]+$/i.test(cn) ? [cn.toLowerCase()] : [];
}

/** Certificates that hold this key hold the same DNS names. */
const nameSetOf = (names: string[]) => [...names].sort().join(' ');

/** The signature algorithms (as getSharedSigalgs names them) that can sign with a key of each type. */
const SIGNS: Record<string, RegExp> = {
  ed25519: /^ed25519$/i,
  ed448: /^ed448$/i,
  rsa: /^RSA(-PSS)?\+/,
  'rsa-pss': /^RSA-PSS\+/,
};
/** TLS 1.3 ties an ECDSA signature's hash to the key's curve (ecdsa_secp256r1_sha256, …); TLS 1.2 clients that take
 * ECDSA take its SHA-256 form too. So a P-256 key needs ECDSA+SHA256 among the shared algorithms, and so on. */
const EC_HASHES: Record<string, string> = { prime256v1: 'SHA256', secp384r1: 'SHA384', secp521r1: 'SHA512' };

/** What the client must share for a certificate with `leaf`'s key to be chosen for it. */
function signsWith(leaf: X509Certificate): RegExp | undefined {
  const key = leaf.publicKey;
  if (key.asymmetricKeyType !== 'ec') return SIGNS[key.asymmetricKeyType ?? ''];
  const hash = EC_HASHES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  return hash === undefined ? /^ECDSA\+/ : new RegExp(`^ECDSA\\+${hash}$`);
}
/** Of a pair, a client that can take both gets the first of these: smaller and faster, as OpenSSL prefers. */
const PREFERRED = ['ec', 'ed25519', 'ed448', 'rsa-pss', 'rsa'];

/** The contexts of one set of names: one per certificate, best-preferred key type first. */
type Choices = {
  type: string;
  signs: RegExp | undefined;
  context: SecureContext;
  files: { cert: string; key: string };
}[];

/**
 * A TLS listener's certificates, built once per apply: one SecureContext
 * each, chosen by SNI, exact names before wildcards (`*.example.com` covers
 * one label: `a.example.com`, neither `example.com` nor `a.b.example.com`).
 * Certificates that hold the same names with keys of other types (RSA and
 * ECDSA) are chosen between by the signature algorithms the client shares,
 * not by OpenSSL: Node hands over a context chosen by SNI with its one
 * certificate. A client that names no server gets the first set's preferred
 * certificate (the server's own context): a context holding two certificates
 * would staple the OCSP response of one whichever OpenSSL sent.
 */
export class CertificateTable {
  readonly served: ServedCertificate[];
  /** The options of the first set's preferred certificate, for the server's own (no-SNI) context. */
  readonly defaultOptions: SecureContextOptions;
  readonly rejectUnknown: boolean;
  readonly #default: Choices;
  readonly #byName = new ServerNames<Choices>();

  constructor(tls: ListenerTls) {
    const pem = tls.pem;
    if (pem === undefined) throw new Error('listener tls files were not loaded (validateConfig reads them)');
    this.rejectUnknown = tls.unknown_server_name === 'reject';
    this.served = [];
    const sets = new Map<string, Choices>();
    pem.certificates.forEach((files, i) => {
      const leaf = new X509Certificate(pemCertificates(files.cert)[0]);
      const names = namesOf(leaf);
      this.served.push({
        file: tls.certificates[i].cert,
        subject: subjectOf(leaf),
        names,
        notAfterMs: leaf.validToDate.getTime(),
      });
      const set = sets.get(nameSetOf(names)) ?? [];
      if (set.length === 0) {
        sets.set(nameSetOf(names), set);
        for (const name of names) this.#byName.add(name, set);
      }
      const type = leaf.publicKey.asymmetricKeyType ?? 'unknown';
      set.push({ type, signs: signsWith(leaf), context: createContext(contextOptions(tls, files, pem)), files });
      set.sort((a, b) => rank(a.type) - rank(b.type));
    });
    this.#default = [...sets.values()][0];
    this.defaultOptions = contextOptions(tls, this.#default[0].files, pem);
  }

  /**
   * The context for the name a client asked for (SNI); undefined when `reject` and no certificate holds it.
   * `sigalgs` (called only when the name has a pair) lists the signature algorithms the client shares.
   */
  select(serverName: string, sigalgs: () => string[]): SecureContext | undefined {
    const choices = this.#byName.find(serverName) ?? (this.rejectUnknown ? undefined : this.#default);
    if (choices === undefined || choices.length === 1) return choices?.[0].context;
    const shared = sigalgs();
    const taken = choices.find((c) => shared.some((alg) => c.signs?.test(alg)));
    // A client that shares none (TLS 1.2 without the extension: SHA-1 with RSA) gets the last, RSA when there is one.
    return (taken ?? choices[choices.length - 1]).context;
  }
}

const rank = (type: string) => {
  const at = PREFERRED.indexOf(type);
  return at < 0 ? PREFERRED.length : at;
};

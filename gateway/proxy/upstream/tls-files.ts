import { X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import type { Config, UpstreamConfig } from '../../control/config/schema.ts';
import { secureContext, type TlsPem, type UpstreamTls } from './tls.ts';
import { certificatesProblem, describe, privateKeyOf, readPemFile, subjectOf, validityProblem } from '../net/pem.ts';
import { upstreamsOf } from './upstreams-of.ts';
import { listenerFilesSeen } from '../listeners/certificates.ts';

type Report = (path: string, message: string) => void;

/**
 * Checks an upstream's `tls` and reads the files it names: each problem is
 * reported at its field's path, and when there is none the files' text is
 * attached as `tls.pem` (see UpstreamTls) for the pool to build from. The one
 * semantic check that reads the disk, so validate, start, an admin apply and a
 * reload all read the files as they are then.
 */
export function checkTls(up: UpstreamConfig, base: string, err: Report, tcp = false): void {
  const tls = up.tls as UpstreamTls | undefined;
  if (tls === undefined) return;
  const at = `${base}/tls`;
  let ok = true;
  const fail = (path: string, message: string) => {
    ok = false;
    err(path, message);
  };
  // A stream's tcp:// targets are all reached over TLS when its upstream has a `tls` block.
  const registry = up.discovery?.consul ? up.discovery.consul.scheme === 'https' : up.discovery?.etcd !== undefined;
  const https =
    tcp || registry || (up.dns ? up.dns.scheme === 'https' : up.targets.some((t) => t.url.startsWith('https:')));
  if (!https) fail(at, 'the upstream has no https target, so these settings would do nothing');
  // Only IPv4 passes the schema's name pattern (an IPv6 literal is refused there already, once).
  if (tls.server_name !== undefined && isIP(tls.server_name) === 4) {
    fail(
      `${at}/server_name`,
      'must be a name: an address is never sent as SNI, and an ' +
        'address target is checked against its own address already',
    );
  }
  if (!tls.verify && tls.ca_file !== undefined)
    fail(`${at}/ca_file`, 'does nothing with verify: false (no certificate is checked); remove one of them');
  const pem = readTlsFiles(tls, at, fail);
  if (!ok || pem === undefined) return;
  try {
    // What the pool will build; anything OpenSSL still refuses is found now, not at the first connection.
    secureContext(tls, pem);
  } catch (e) {
    err(at, `OpenSSL refuses these files: ${(e as Error).message}`);
    return;
  }
  tls.pem = pem;
}

/** TLS files by absolute path, as an upstream's and a registry's `tls` name them. */
export interface TlsFiles {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
}

/**
 * Reads and checks the files `tls` names: each a readable absolute path, the CA bundle and the certificate PEM
 * certificates in date, the key usable and the certificate's, cert_file and key_file together. Their text, or
 * undefined after reporting each problem at its field under `at`.
 */
export function readTlsFiles(tls: TlsFiles, at: string, err: Report): TlsPem | undefined {
  let ok = true;
  const fail = (path: string, message: string) => {
    ok = false;
    err(path, message);
  };
  if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    fail(
      tls.cert_file === undefined ? `${at}/cert_file` : `${at}/key_file`,
      `required with ${tls.cert_file === undefined ? 'key_file' : 'cert_file'}`,
    );
  }
  const pem: TlsPem = {};
  const file = (field: 'ca_file' | 'cert_file' | 'key_file'): string | undefined => {
    const path = tls[field];
    if (path === undefined) return undefined;
    if (!isAbsolute(path)) {
      fail(
        `${at}/${field}`,
        `must be an absolute path (got ${JSON.stringify(path)}): a config may ` +
          `come from the admin API or another node, where a relative one has no anchor`,
      );
      return undefined;
    }
    try {
      return readPemFile(path);
    } catch (e) {
      fail(`${at}/${field}`, `cannot read ${path}: ${describe(e)}`);
      return undefined;
    }
  };
  const ca = file('ca_file');
  if (ca !== undefined) {
    const problem = certificatesProblem(ca);
    if (problem) fail(`${at}/ca_file`, `${tls.ca_file}: ${problem}`);
    else pem.ca = ca;
  }
  const cert = file('cert_file');
  const key = file('key_file');
  let leaf: X509Certificate | undefined;
  if (cert !== undefined) {
    const problem = certificatesProblem(cert);
    if (problem) fail(`${at}/cert_file`, `${tls.cert_file}: ${problem}`);
    else leaf = new X509Certificate(cert);
    const invalid = leaf && validityProblem(leaf);
    if (invalid) fail(`${at}/cert_file`, `${tls.cert_file}: ${invalid}`);
  }
  let privateKey: KeyObject | undefined;
  if (key !== undefined) {
    const usable = privateKeyOf(key);
    if (typeof usable === 'string') fail(`${at}/key_file`, `${tls.key_file}: ${usable}`);
    else privateKey = usable;
  }
  if (leaf && privateKey && !leaf.checkPrivateKey(privateKey)) {
    fail(
      `${at}/key_file`,
      `${tls.key_file} is not the key of the certificate in ${tls.cert_file} (${subjectOf(leaf)})`,
    );
  }
  if (!ok) return undefined;
  if (cert !== undefined && key !== undefined) Object.assign(pem, { cert, key });
  return pem;
}

/**
 * The TLS files as the data plane was given them (the upstreams' and the
 * listeners'): each file's text by path ('' when two were given different
 * texts of it: it changed between their reads). One walk per apply, and the
 * text is the one the pools and listeners hold, not a copy.
 */
export interface TlsFilesSeen {
  texts: Map<string, string>;
}

export function tlsFilesSeen(config: Config): TlsFilesSeen {
  const texts = new Map<string, string>();
  const seen = (path: string | undefined, text: string | undefined) => {
    if (path === undefined || text === undefined) return;
    texts.set(path, texts.has(path) && texts.get(path) !== text ? '' : text);
  };
  listenerFilesSeen(config, seen);
  for (const { upstream } of upstreamsOf(config)) {
    const tls = upstream.tls as UpstreamTls | undefined;
    if (tls === undefined) continue;
    seen(tls.ca_file, tls.pem?.ca);
    seen(tls.cert_file, tls.pem?.cert);
    seen(tls.key_file, tls.pem?.key);
  }
  return { texts };
}

/**
 * Whether the same config, validated again, gives its upstreams other file
 * texts than `before`: then it is applied. Its upstreams name the same paths,
 * so comparing texts by path is comparing what each upstream was given; a
 * file that read differently for two upstreams counts as changed.
 */
export function tlsFilesChanged(before: TlsFilesSeen, now: TlsFilesSeen): boolean {
  if (before.texts.size !== now.texts.size) return true;
  for (const [path, text] of now.texts) if (text === '' || before.texts.get(path) !== text) return true;
  return false;
}

/**
 * Whether every file still reads as it was given: then a re-read (SIGHUP on an
 * unchanged config file, the TLS file watch) has nothing to apply and skips
 * validating the whole config, which takes ~50-300 ms on the event loop for
 * 5,000 services. Any difference or read error sends it the whole way.
 */
export function tlsFilesUnchanged(seen: TlsFilesSeen): boolean {
  for (const [path, text] of seen.texts) {
    try {
      if (text === '' || readPemFile(path) !== text) return false;
    } catch {
      return false;
    }
  }
  return true;
}

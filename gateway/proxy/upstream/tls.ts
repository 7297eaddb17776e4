import type { SecureContext } from 'node:tls';
import type { UpstreamConfig } from '../../control/config/schema.ts';

/** The text of the files an upstream's `tls` names, as validation read and checked it (tls-files.ts). */
export interface TlsPem {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * A validated upstream's `tls`: the settings, plus `pem`, the files' text.
 * The text travels with the validated config (to the data plane, and over IPC
 * to the proxy workers), so a pool is built from the very bytes that were
 * checked, never from a file that changed in between; and since the data
 * plane keeps a pool only while its upstream config's JSON is unchanged, new
 * file content rebuilds the pool. Never part of a stored or published config.
 */
export type UpstreamTls = NonNullable<UpstreamConfig['tls']> & { pem?: TlsPem };

/** What the connector adds to tls.connect for an upstream with a `tls` block. */
export interface TlsConnectOptions {
  secureContext: SecureContext;
  rejectUnauthorized: boolean;
}

/**
 * Built once per pool (the proxy's and the active checker's share it): a
 * SecureContext made per connection from `ca`/`cert`/`key` options would parse
 * the CA bundle on every handshake. Undefined without a `tls` block, so such an
 * upstream connects exactly as before (Node's default context).
 */
export function connectTls(up: UpstreamConfig): TlsConnectOptions | undefined {
  const tls = up.tls as UpstreamTls | undefined;
  if (tls === undefined) return undefined;
  const pem = tls.pem ?? {};
  // A config that skipped validation must not fall back to the default store without a word.
  if ((tls.ca_file !== undefined && pem.ca === undefined) || (tls.cert_file !== undefined && pem.cert === undefined)) {
    throw new Error('upstream tls files were not loaded (validateConfig reads them)');
  }
  return {
    secureContext: secureContext(tls, pem),
    rejectUnauthorized: tls.verify,
  };
}

/**
 * The SecureContext of an upstream's `tls` and its files' text. node:tls is
 * loaded here, on first use, and not imported: loading it (OpenSSL's TLS
 * state, the module's code) costs an idle gateway ~2 MB that a gateway
 * without TLS upstreams has no use for (docs/performance.md).
 */
export function secureContext(tls: UpstreamTls, pem: TlsPem): SecureContext {
  return process.getBuiltinModule('node:tls').createSecureContext({
    ca: pem.ca,
    cert: pem.cert,
    key: pem.key,
    minVersion: tls.min_version as 'TLSv1.2' | 'TLSv1.3',
  });
}

/**
 * The upstream's config without its TLS files' text: equal for two configs
 * when only the content of those files changed (a renewal), for which a pool
 * rebuilt with the new files keeps its breaker and retry budget, as Envoy
 * keeps outlier state across an SDS secret update.
 */
export function settingsOf(up: UpstreamConfig): string {
  return JSON.stringify(up, (key, value: unknown) => (key === 'pem' ? undefined : value));
}

import { X509Certificate } from 'node:crypto';
import { pemCertificates, subjectOf } from '../net/pem.ts';
import { type ListenerTls, namesOf } from './certificates.ts';
import type { ListenerTlsConfig } from './schema.ts';

/** A certificate the gateway serves, as GET /config/tls/certificates shows it. */
export interface CertificateReport {
  /** `listeners/<name>`, `streams/<name>` or `admin`. */
  served_by: string;
  file: string;
  subject: string;
  issuer: string;
  names: string[];
  key_type: string;
  not_after: string;
  expires_in_s: number;
  ocsp_stapling: boolean;
}

/** Every certificate a validated config serves (files as validation read them), the soonest to expire first. */
export function certificateReport(
  config: {
    listeners: { name: string; tls?: ListenerTlsConfig }[];
    streams?: { name: string; tls?: ListenerTlsConfig }[];
    admin?: { tls?: ListenerTlsConfig };
  },
  nowMs = Date.now(),
): CertificateReport[] {
  const holders: [string, ListenerTls | undefined][] = [
    ...config.listeners.map((l): [string, ListenerTls | undefined] => [`listeners/${l.name}`, l.tls]),
    ...(config.streams ?? []).map((s): [string, ListenerTls | undefined] => [`streams/${s.name}`, s.tls]),
    ['admin', config.admin?.tls],
  ];
  const report: CertificateReport[] = [];
  for (const [servedBy, tls] of holders)
    tls?.pem?.certificates.forEach((files, i) => {
      const leaf = new X509Certificate(pemCertificates(files.cert)[0]);
      report.push({
        served_by: servedBy,
        file: tls.certificates[i].cert,
        subject: subjectOf(leaf),
        issuer: leaf.issuer.split('\n').join(', '),
        names: namesOf(leaf),
        key_type: leaf.publicKey.asymmetricKeyType ?? 'unknown',
        not_after: leaf.validToDate.toISOString(),
        expires_in_s: Math.floor((leaf.validToDate.getTime() - nowMs) / 1000),
        ocsp_stapling: tls.ocsp_stapling !== undefined,
      });
    });
  return report.sort((a, b) => a.expires_in_s - b.expires_in_s);
}

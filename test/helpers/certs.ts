// Test certificates made with the openssl CLI (Node has no API to issue X.509
// certificates): a CA, and leaves it signs with the names and validity a test asks for.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  cert: string;
  key: string;
}

export interface CertificateSpec {
  /** Subject CN; also the file names' stem. */
  cn: string;
  /** DNS subjectAltNames (wildcards allowed); none: no SAN at all. */
  dns?: string[];
  ips?: string[];
  /** URI subjectAltNames (a SPIFFE ID). */
  uris?: string[];
  /** Validity as dates (openssl YYYYMMDDHHMMSSZ); default from an hour ago for 30 days. */
  start?: Date;
  end?: Date;
  /** For a client certificate (extendedKeyUsage clientAuth); 'both': serverAuth and clientAuth (etcd's server
   * certificate, which its own gRPC gateway also shows as a client). */
  client?: boolean | 'both';
  /** An RSA key (2048 bits) instead of an ECDSA P-256 one. */
  rsa?: boolean;
  /** OCSP responder URL written in its Authority Information Access. */
  ocsp?: string;
  /** For an OCSP responder's certificate (extendedKeyUsage OCSPSigning). */
  ocspSigning?: boolean;
  /** No Common Name in the subject (`O=<cn>` instead), as etcd's JSON gateway wants of client certificates. */
  noCommonName?: boolean;
}

const USAGES: Record<string, string> = { false: 'serverAuth', true: 'clientAuth', both: 'serverAuth,clientAuth' };

const stamp = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA in `dir`/`name`.pem and .key. */
export function makeCa(dir: string, name = 'ca'): Issued {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      key,
      '-out',
      cert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert, key };
}

/** A leaf signed by `ca`, in `dir`/`cn`.pem and .key (written through `openssl ca`, which takes any dates). */
export function issue(dir: string, ca: Issued, spec: CertificateSpec): Issued {
  const base = join(dir, spec.cn.replace(/[^A-Za-z0-9.-]/g, '_'));
  const cert = `${base}.pem`;
  const key = `${base}.key`;
  const csr = `${base}.csr`;
  openssl(
    [
      'req',
      '-new',
      ...(spec.rsa ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
      '-nodes',
      '-utf8', // a subject beyond ASCII (CN=张三) as UTF-8
      '-subj',
      spec.noCommonName ? `/O=${spec.cn}` : `/CN=${spec.cn}`,
      '-keyout',
      key,
      '-out',
      csr,
    ],
    dir,
  );
  const db = `${base}.db`;
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  const sans = [
    ...(spec.dns ?? []).map((d) => `DNS:${d}`),
    ...(spec.ips ?? []).map((ip) => `IP:${ip}`),
    ...(spec.uris ?? []).map((uri) => `URI:${uri}`),
  ];
  const config = [
    '[ca]',
    'default_ca = tg',
    '[tg]',
    `dir = ${db}`,
    'database = $dir/index.txt',
    `new_certs_dir = ${db}`,
    'default_md = sha256',
    'policy = any',
    'unique_subject = no',
    'copy_extensions = none',
    'rand_serial = yes',
    '[any]',
    'commonName = optional',
    '[leaf]',
    'basicConstraints = CA:FALSE',
    `extendedKeyUsage = ${spec.ocspSigning ? 'OCSPSigning' : USAGES[String(spec.client ?? false)]}`,
    ...(spec.ocsp !== undefined ? [`authorityInfoAccess = OCSP;URI:${spec.ocsp}`] : []),
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
  ].join('\n');
  writeFileSync(join(db, 'ca.cnf'), config);
  const start = spec.start ?? new Date(Date.now() - 3600_000);
  const end = spec.end ?? new Date(Date.now() + 30 * 86400_000);
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      join(db, 'ca.cnf'),
      '-extensions',
      'leaf',
      '-cert',
      ca.cert,
      '-keyfile',
      ca.key,
      '-in',
      csr,
      '-out',
      cert,
      '-startdate',
      stamp(start),
      '-enddate',
      stamp(end),
    ],
    dir,
  );
  return { cert, key };
}

/** The database (index.txt) `issue` keeps for a leaf: its status as its CA knows it. */
export const indexOf = (leaf: Issued) => join(leaf.cert.replace(/\.pem$/, '.db'), 'index.txt');

/** Revokes a leaf `issue` made, in its own database (once). */
export function revoke(ca: Issued, leaf: Issued): void {
  const own = leaf.cert.replace(/\.pem$/, '.db');
  if (readFileSync(indexOf(leaf), 'utf8').startsWith('R')) return;
  openssl(['ca', '-config', join(own, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key, '-revoke', leaf.cert], own);
}

/**
 * A CRL from `ca` revoking `revoked` (leaves `issue` made), valid for `days`, in `dir`/`name`.pem: each is revoked
 * in the database `issue` kept for it, and the list is made from those entries.
 */
export function revocationList(dir: string, ca: Issued, revoked: Issued[], name = 'crl', days = 30): string {
  const db = join(dir, `${name}.db`);
  mkdirSync(db, { recursive: true });
  let index = '';
  for (const leaf of revoked) {
    revoke(ca, leaf);
    index += readFileSync(indexOf(leaf), 'utf8');
  }
  writeFileSync(join(db, 'index.txt'), index);
  writeFileSync(
    join(db, 'ca.cnf'),
    ['[ca]', 'default_ca = tg', '[tg]', `database = ${db}/index.txt`, 'default_md = sha256'].join('\n'),
  );
  const out = join(dir, `${name}.pem`);
  const args = ['ca', '-gencrl', '-config', join(db, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key];
  openssl([...args, '-crldays', String(days), '-out', out], dir);
  return out;
}

/**
 * Certificate files renewed in place, as a certificate tool writes them: `renew(n)` issues generation `n` (subject
 * CN `v<n>.<name>`, DNS name `name`) from `ca` and copies it over `served` (the certificate, then its key).
 */
export function renewer(dir: string, ca: Issued, name: string): { served: Issued; renew(n: number): void } {
  const served = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  return {
    served,
    renew(n) {
      const at = join(dir, `v${n}`);
      mkdirSync(at, { recursive: true });
      const next = issue(at, ca, { cn: `v${n}.${name}`, dns: [name] });
      copyFileSync(next.cert, served.cert);
      copyFileSync(next.key, served.key);
    },
  };
}

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { getCACertificates, setDefaultCACertificates, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';

/**
 * A self-signed certificate for the name `localhost` only (no IP in its
 * altnames, valid to 2126; made with `openssl req -x509 -newkey ec -nodes
 * -subj /CN=localhost -addext subjectAltName=DNS:localhost`), so a client
 * that checks it against 127.0.0.1 instead of the name fails.
 */
const dir = new URL('./tls/', import.meta.url);
export const LOCALHOST_CERT = readFileSync(new URL('localhost-cert.pem', dir), 'utf8');
const LOCALHOST_KEY = readFileSync(new URL('localhost-key.pem', dir), 'utf8');
/** Self-signed for the address 127.0.0.1 only (`-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`, valid to
 * 2126). */
export const LOOPBACK_IP_CERT = readFileSync(new URL('loopback-ip-cert.pem', dir), 'utf8');
const LOOPBACK_IP_KEY = readFileSync(new URL('loopback-ip-key.pem', dir), 'utf8');

/**
 * A private CA no default store holds, and what it signed (test/helpers/tls/README.md): a server
 * certificate for `upstream.test` and `localhost` (no address) and a client certificate. Absolute
 * paths, as upstream.tls wants them.
 */
export const PRIVATE = {
  ca: fileURLToPath(new URL('private-ca-cert.pem', dir)),
  serverCert: fileURLToPath(new URL('private-upstream-cert.pem', dir)),
  serverKey: fileURLToPath(new URL('private-upstream-key.pem', dir)),
  clientCert: fileURLToPath(new URL('private-client-cert.pem', dir)),
  clientKey: fileURLToPath(new URL('private-client-key.pem', dir)),
};

/** Makes this process's TLS clients (undici in an in-process gateway included) trust LOCALHOST_CERT besides the usual
 * roots. */
export function trustLocalhostCert(): void {
  trustCert(LOCALHOST_CERT);
}

/** As trustLocalhostCert, for LOOPBACK_IP_CERT. */
export function trustLoopbackIpCert(): void {
  trustCert(LOOPBACK_IP_CERT);
}

function trustCert(cert: string): void {
  const current = getCACertificates('default');
  if (!current.includes(cert)) setDefaultCACertificates([...current, cert]);
}

export interface TlsUpstream {
  server: Server;
  port: number;
  /** Host header and TLS server name (SNI) of every request, newest last. */
  seen: { host: string | undefined; servername: string | false | null; client?: string }[];
  /** TLS connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1:0 with LOCALHOST_CERT (with `cert: 'ip'`, LOOPBACK_IP_CERT; with
 * `cert: 'private'`, PRIVATE's server certificate), answering 200 with JSON `{name, host, servername}`.
 * `requireClientCert`: refuses a handshake without a client certificate PRIVATE's CA issued, and
 * adds `client`, its subject's CN, to the JSON.
 */
export async function startTlsUpstream(
  name: string,
  opts: { cert?: 'localhost' | 'ip' | 'private'; requireClientCert?: boolean } = {},
): Promise<TlsUpstream> {
  const seen: TlsUpstream['seen'] = [];
  const [key, cert] =
    opts.cert === 'ip'
      ? [LOOPBACK_IP_KEY, LOOPBACK_IP_CERT]
      : opts.cert === 'private'
        ? [readFileSync(PRIVATE.serverKey, 'utf8'), readFileSync(PRIVATE.serverCert, 'utf8')]
        : [LOCALHOST_KEY, LOCALHOST_CERT];
  const mtls = opts.requireClientCert
    ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(PRIVATE.ca, 'utf8') }
    : {};
  const server = createServer({ key, cert, ...mtls }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const entry = {
      host: req.headers.host,
      servername: socket.servername,
      ...(opts.requireClientCert ? { client: String(socket.getPeerCertificate().subject?.CN) } : {}),
    };
    seen.push(entry);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, ...entry }));
  });
  let connections = 0;
  server.on('secureConnection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

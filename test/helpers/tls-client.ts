// Clients for the TLS and HTTP/2 listener tests: a bare handshake, HTTPS/1.1 and HTTP/2 requests.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as h2Connect, type IncomingHttpHeaders } from 'node:http2';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface TlsClientOptions {
  /** CA file that must have issued the server's certificate. */
  ca: string;
  /** SNI name; none sends no server name (as a client connecting by address does). */
  servername?: string;
  alpn?: string[];
  /** Client certificate and key files. */
  cert?: string;
  key?: string;
  minVersion?: ConnectionOptions['minVersion'];
  maxVersion?: ConnectionOptions['maxVersion'];
  /** The cipher suites and key-exchange curves to offer (OpenSSL lists); Node's defaults when absent. */
  ciphers?: string;
  ecdhCurve?: string;
  /** Ask for the certificate's status (status_request): Handshake.ocsp holds what the server stapled. */
  requestOCSP?: boolean;
}

function options(port: number, o: TlsClientOptions): ConnectionOptions {
  return {
    host: '127.0.0.1',
    port,
    ca: readFileSync(o.ca),
    // Node sends no SNI for an IP address; a name given here is sent and checked.
    servername: o.servername ?? '',
    checkServerIdentity: () => undefined,
    ALPNProtocols: o.alpn,
    ...(o.cert ? { cert: readFileSync(o.cert), key: readFileSync(o.key!) } : {}),
    ...(o.minVersion ? { minVersion: o.minVersion } : {}),
    ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
    ...(o.ciphers ? { ciphers: o.ciphers } : {}),
    ...(o.ecdhCurve ? { ecdhCurve: o.ecdhCurve } : {}),
    ...(o.requestOCSP ? { requestOCSP: true } : {}),
  };
}

export interface Handshake {
  /** The server certificate's subject CN. */
  cn: string;
  alpn: string | false | null;
  version: string | null;
  /** The cipher suite settled on, and the key exchange's curve (secp384r1, X25519, …). */
  cipher: string;
  curve: string | undefined;
  /** The OCSP response the server stapled (with requestOCSP), if any. */
  ocsp?: Buffer;
}

/**
 * Writes `text` over TLS, the server's certificate checked for `o.servername` as a client of a stream would, and
 * resolves with the certificate's CN and the first answer (a TCP stream's echo); rejects when it ends before one.
 */
export function tlsRoundTrip(
  port: number,
  o: TlsClientOptions,
  text: string,
): Promise<{ subject: string; answer: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ ...options(port, o), checkServerIdentity }, () => {
      const subject = String(socket.getPeerCertificate().subject?.CN ?? '');
      socket.once('data', (d) => {
        resolve({ subject, answer: d.toString() });
        socket.end();
      });
      socket.write(text);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before an answer')));
  });
}

/** Completes a TLS handshake (and nothing more); rejects with the error that failed it. */
export function handshake(port: number, o: TlsClientOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let ocsp: Buffer | undefined;
    const socket = tlsConnect(options(port, o), () => {
      const cert = socket.getPeerCertificate();
      const cn = String(cert.subject?.CN ?? '');
      const cipher = socket.getCipher().name;
      const curve = (socket.getEphemeralKeyInfo() as { name?: string } | null)?.name;
      const done = { cn, alpn: socket.alpnProtocol, version: socket.getProtocol(), cipher, curve, ocsp };
      // With TLS 1.3 a server that refuses the client's certificate says so after the handshake: wait a moment.
      setTimeout(() => {
        if (socket.destroyed) return reject(new Error('closed right after the handshake'));
        socket.end();
        resolve(done);
      }, 100);
    });
    socket.on('OCSPResponse', (response: Buffer | undefined) => {
      ocsp = response ?? undefined;
    });
    socket.on('error', reject);
  });
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One HTTPS/1.1 request on a fresh connection (a GET unless `method` says otherwise). */
export function httpsGet(
  port: number,
  path: string,
  o: TlsClientOptions,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ ...options(port, o), method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/2 request: over TLS with `o` (ALPN h2), or h2c with prior knowledge when `o` is undefined. */
export function h2Request(
  port: number,
  path: string,
  o: TlsClientOptions | undefined,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = o
      ? h2Connect(`https://127.0.0.1:${port}`, { ...options(port, o), ALPNProtocols: ['h2'] })
      : h2Connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':method': body === undefined ? 'GET' : 'POST', ...headers });
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      resolve({
        status: Number(responseHeaders[':status']),
        headers: responseHeaders,
        text: Buffer.concat(chunks).toString(),
      });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

export interface Visit {
  reused: boolean;
  /** The ticket the server gave for next time (none after a resumption). */
  session: Buffer | undefined;
  cn: string;
}

/**
 * One HTTP/1.1 request over TLS (TLS 1.3 sends its tickets after the handshake), offering `session` to resume,
 * sent `holdMs` after the handshake (so many at once overlap and spread over a cluster's workers).
 */
export function resumeVisit(port: number, o: TlsClientOptions, session?: Buffer, holdMs = 0): Promise<Visit> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    const socket = tlsConnect({ ...options(port, o), session });
    socket.on('session', (s: Buffer) => {
      ticket = s;
    });
    const ask = () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    socket.on('secureConnect', () => setTimeout(ask, holdMs));
    socket.on('data', () => {});
    socket.on('end', () => {
      const cn = String(socket.getPeerCertificate().subject?.CN);
      resolve({ reused: socket.isSessionReused(), session: ticket, cn });
    });
    socket.on('error', reject);
  });
}

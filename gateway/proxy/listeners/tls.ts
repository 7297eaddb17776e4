import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Tls from 'node:tls';
import { CertificateTable, type ListenerTls, type ServedCertificate } from './certificates.ts';
import type { Refusal } from './metrics.ts';
import { OcspStapling, type StaplingHooks } from './ocsp-stapling.ts';
import type { ListenerProtocol } from './schema.ts';

/** Loaded on first use: a gateway without a TLS listener does not carry node:tls in memory. */
const load = () => createRequire(import.meta.url)('node:tls') as typeof Tls;

export interface TlsHooks {
  /** A handshake finished: the socket speaks `protocol` (what ALPN chose; http/1.1 without ALPN; tcp for a stream). */
  secured(socket: Tls.TLSSocket, protocol: 'h2' | 'http/1.1' | 'tcp'): void;
  /** A handshake completed; `resumed`: by a session ticket (no certificate sent, no signature made). */
  handshake(version: string, protocol: string, resumed: boolean): void;
  refused(reason: Refusal, socket?: Tls.TLSSocket): void;
  /** The certificates served from now on (none once the listener closes), for the expiry gauge. */
  served(certificates: readonly ServedCertificate[]): void;
  ocsp: StaplingHooks;
}

/** Marks the error SNICallback fails a handshake with, so tlsClientError can tell it from OpenSSL's own. */
const UNKNOWN_NAME = 'TOLLGATE_UNKNOWN_SERVER_NAME';

/**
 * Why a handshake failed, from the error Node reports it with. A client certificate refused after a TLS 1.3
 * handshake is reported as a hang-up (Node destroys the socket without an error), but the socket says why.
 */
export function refusalOf(err: NodeJS.ErrnoException, socket?: Partial<Tls.TLSSocket>): Refusal {
  if (socket?.authorizationError) return 'bad_client_certificate';
  const code = err.code ?? '';
  const text = `${code} ${err.message}`;
  if (code === UNKNOWN_NAME) return 'unknown_server_name';
  if (code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_HTTPS_PROXY_REQUEST') return 'plaintext_on_tls';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'tls_handshake_timeout';
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/i.test(text)) return 'no_client_certificate';
  if (/CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_EXPIRED|unable to (get|verify)/i.test(text))
    return 'bad_client_certificate';
  if (/UNSUPPORTED_PROTOCOL|WRONG_VERSION_NUMBER|VERSION_TOO_LOW|PROTOCOL_VERSION/i.test(text)) return 'tls_version';
  if (/NO_APPLICATION_PROTOCOL|no_application_protocol/i.test(text)) return 'no_common_protocol';
  return 'tls_handshake';
}

/**
 * A listener's TLS: certificates chosen by SNI (CertificateTable), ALPN
 * between h2 and http/1.1, client certificates when asked for. Each secured
 * connection goes to `hooks.secured`, which hands it to the HTTP/1.1 or
 * HTTP/2 server. `update` swaps certificates and settings for new connections;
 * open ones keep what they started with.
 */
export class TlsListener {
  readonly server: Tls.Server;
  #table: CertificateTable;
  #tls: ListenerTls;
  #stapling: OcspStapling | undefined;
  #sharedTicketKeys: Buffer | undefined;
  readonly #hooks: TlsHooks;

  /** `protocols` 'tcp': a stream's TLS, no ALPN offered (whatever the client asks for is the target's business). */
  constructor(tls: ListenerTls, protocols: readonly ListenerProtocol[] | 'tcp', hooks: TlsHooks) {
    this.#table = new CertificateTable(tls);
    this.#tls = tls;
    this.#hooks = hooks;
    const tcp = protocols === 'tcp';
    const table = () => this.#table;
    const offered = tcp ? [] : (['h2', 'http/1.1'] as const).filter((p) => protocols.includes(p));
    this.server = load().createServer(
      {
        ...this.#table.defaultOptions,
        ...(tcp ? {} : { ALPNProtocols: [...offered] }),
        // `this` is the client's socket: Node calls it as the socket's own method.
        SNICallback: function (this: Tls.TLSSocket, name, answer) {
          const context = table().select(name, () => this.getSharedSigalgs());
          if (context !== undefined) answer(null, context);
          else answer(Object.assign(new Error(`no certificate for ${name}`), { code: UNKNOWN_NAME }));
        },
        ...clientAuth(tls),
        handshakeTimeout: tls.handshake_timeout_ms,
      },
      (socket) => {
        if (!this.#resumedCertificateHolds(socket)) return;
        if (tcp) {
          hooks.handshake(socket.getProtocol() ?? 'unknown', 'tcp', socket.isSessionReused());
          return hooks.secured(socket, 'tcp');
        }
        // A client without ALPN speaks HTTP/1.1; a listener that offers only h2 has nothing for it.
        const protocol = socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
        if (protocol === 'http/1.1' && !offered.includes('http/1.1')) {
          hooks.refused('no_common_protocol');
          socket.destroy();
          return;
        }
        hooks.handshake(socket.getProtocol() ?? 'unknown', protocol, socket.isSessionReused());
        hooks.secured(socket, protocol);
      },
    );
    // A failed handshake is closed here, as Node's https and http2 servers do: a tls.Server reports a handshake
    // that timed out (and leaves the socket open, so a client that sends nothing held a connection for good).
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Tls.TLSSocket) => {
      hooks.refused(refusalOf(err, socket), socket);
      socket.destroy();
    });
    hooks.served(this.#table.served);
    this.#staple(tls);
  }

  /** Staples OCSP responses while `tls.ocsp_stapling` asks for it (OcspStapling keeps the ones it had). */
  #staple(tls: ListenerTls): void {
    if (tls.ocsp_stapling !== undefined) this.#stapling ??= new OcspStapling(this.server, this.#hooks.ocsp);
    this.#stapling?.update(tls);
  }

  /**
   * A session resumed by its ticket skips the client certificate's checks, its dates among them (a new CA or CRL
   * ends resumption: certificates.ts sessionIdContext). A certificate that expired since the session began is
   * refused where one is required and not authorized where it is optional, as in a full handshake.
   */
  #resumedCertificateHolds(socket: Tls.TLSSocket): boolean {
    if (this.#tls.client_certificates === undefined || !socket.authorized || !socket.isSessionReused()) return true;
    const cert = socket.getPeerX509Certificate();
    const now = Date.now();
    if (cert === undefined || (cert.validFromDate.getTime() <= now && now <= cert.validToDate.getTime())) return true;
    // Node's own authorizationError is OpenSSL's code as a string (its types say Error).
    const code = now < cert.validFromDate.getTime() ? 'CERT_NOT_YET_VALID' : 'CERT_HAS_EXPIRED';
    Object.assign(socket, { authorized: false, authorizationError: code });
    if (!this.#tls.client_certificates.required) return true;
    this.#hooks.refused('bad_client_certificate', socket);
    socket.destroy();
    return false;
  }

  /** Stops fetching OCSP responses (the listener is gone or the gateway stops). */
  close(): void {
    this.#stapling?.stop();
    this.#hooks.served([]);
  }

  /**
   * The session ticket key the listener's door (or the stream's server) shares, in cluster mode the same on every
   * worker (door.ts, sharedTicketKeys). It is the key used while no key file is configured.
   */
  shareTicketKeys(keys: Buffer): void {
    this.#sharedTicketKeys = keys;
    if (this.#tls.pem?.ticketKey === undefined) this.server.setTicketKeys(keys);
  }

  /** New certificates and settings (a reload, renewed files), for connections from now on. */
  update(tls: ListenerTls): void {
    const table = new CertificateTable(tls);
    // Without a key file the current key carries on, so a renewal does not cost every client its next resumption.
    // A key file taken out of the config takes its key along (Node would go on with the last key it was given):
    // the shared key takes over.
    const fromFile = tls.pem?.ticketKey !== undefined;
    const dropped = !fromFile && this.#tls.pem?.ticketKey !== undefined;
    // The admin API's TLS has no shared key: a fresh one.
    const keys = () => (dropped ? (this.#sharedTicketKeys ?? randomBytes(48)) : this.server.getTicketKeys());
    this.server.setSecureContext({ ...table.defaultOptions, ...(fromFile ? {} : { ticketKeys: keys() }) });
    this.#tls = tls;
    Object.assign(this.server, clientAuth(tls));
    this.#table = table;
    this.#hooks.served(table.served);
    this.#staple(tls);
  }
}

function clientAuth(tls: ListenerTls): { requestCert: boolean; rejectUnauthorized: boolean } {
  const client = tls.client_certificates;
  return { requestCert: client !== undefined, rejectUnauthorized: client?.required ?? false };
}

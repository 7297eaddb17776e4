/**
 * One upstream endpoint and its live state. Balancers read it; the proxy,
 * the active health checker and passive ejection write it. A Target outlives
 * config reloads when its upstream and URL are unchanged, so health state and
 * connection pools survive a reload.
 */
export class Target {
  /** Stable id within its upstream: the origin, e.g. `http://127.0.0.1:9001`. */
  readonly id: string;
  readonly origin: string;
  /**
   * Sent as Host unless the route preserves the client's: `host[:port]` of the
   * origin, or for a target discovered by name (DNS) that name, with the port
   * unless it is the scheme's default.
   */
  readonly host: string;
  /** The name a discovery source found this target by (DNS); undefined for a static target. */
  readonly hostname: string | undefined;
  /**
   * TLS server name (SNI and the name the certificate must match), also under
   * preserve_host: the upstream's `tls.server_name` when set, else the name
   * the target was found by, else an https origin's host (brackets off). Never left undefined for https, or undici
   * would take
   * the name from the Host header, the client's under preserve_host. An
   * address goes no further than the connector, which drops it (`connector`).
   */
  readonly servername: string | undefined;
  /** The host the origin names (brackets off an IPv6 address) and its port, the scheme's default when unwritten. */
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  /** Requests currently in flight to this target (least connections reads it). */
  active = 0;
  /** Verdict of the active health checker; true until a check says otherwise. */
  healthy = true;
  /** Passive ejection: unavailable until this epoch-ms time. 0 = not ejected. */
  ejectedUntil = 0;
  /**
   * When the running ejection came from a request the target sent nothing back to (a connect failure, or a
   * connection lost before any response: isNoResponse), the epoch ms it began; else 0. An active check on a
   * connection of its own that starts after it and passes ends that ejection, as does the answer to a request sent
   * to the ejected target as a last resort (PassiveHealth.recordReached).
   */
  unreachableSince = 0;
  /** Consecutive passive failures since the last success. */
  consecutiveFailures = 0;

  /** `tlsName`: the upstream's `tls.server_name`, which only an https target uses. */
  constructor(origin: string, weight = 1, hostname?: string, tlsName?: string) {
    this.id = origin;
    this.origin = origin;
    const url = new URL(origin);
    // URL leaves the port out when it is the scheme's default, as a Host header does.
    this.host = hostname === undefined ? url.host : url.port === '' ? hostname : `${hostname}:${url.port}`;
    this.hostname = hostname;
    const https = url.protocol === 'https:';
    this.servername =
      (https ? tlsName : undefined) ?? hostname ?? (https ? url.hostname.replace(/^\[(.*)\]$/, '$1') : undefined);
    this.address = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port) || (https ? 443 : 80);
    this.weight = weight;
  }

  /** Healthy and not ejected. The clock is read only for a target that was ejected (`nowMs` when the caller has it). */
  available(nowMs?: number): boolean {
    return this.healthy && (this.ejectedUntil === 0 || this.ejectedUntil <= (nowMs ?? Date.now()));
  }
}

/**
 * Why a target URL cannot be used as it reads, or undefined: port 0 names no port anything listens on (a stream's
 * target says so too), and credentials (`http://user:pass@host`) are not sent upstream: the target is its origin, so
 * they were dropped without a word, and they sat in the config for GET /config to show.
 */
export function targetUrlProblem(url: URL): string | undefined {
  if (url.port === '0') return 'port must be 1..65535';
  if (url.username !== '' || url.password !== '')
    return 'credentials in a target URL are not sent upstream: set Authorization with request_headers instead';
  return undefined;
}

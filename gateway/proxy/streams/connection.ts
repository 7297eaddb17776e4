/**
 * One TCP connection through a stream: from the client's PROXY header (when a trusted balancer sends one), IP
 * lists and limits, through TLS termination or a ClientHello read for SNI routing, to a target picked by the
 * upstream's balancer; then both sockets are piped with backpressure until one side is done, each chunk freed
 * once written (write-then-free.ts). One access event when it ends, refused or proxied.
 */
import { connect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type ErrorCode, errors } from '../../errors.ts';
import type { Runtime } from '../runtime.ts';
import { cutIfStillOpen } from '../net/close-grace.ts';
import type { LiveSet } from '../net/live-set.ts';
import { writeThenFree } from '../net/write-then-free.ts';
import { KEEP_CUT_AFTER_MS } from '../events/access-event.ts';
import { classifyUpstreamError } from '../stages/proxy/classify.ts';
import { recordFailure } from '../stages/proxy/outcome.ts';
import type { UpstreamPool } from '../upstream/pool.ts';
import type { Target } from '../upstream/target.ts';
import { clientHelloPrefix } from './client-hello.ts';
import type { CompiledStream } from './compile.ts';
import { limitsOf } from '../net/connection-limits.ts';
import { clientKey, unmapIp } from '../net/ip.ts';
import { REFUSAL_CODES, type StreamCloseReason, type StreamMetrics, type StreamRefusal } from './metrics.ts';
import { readPrefix } from '../net/prefix.ts';
import { headerFor, parseWhole } from '../net/proxy-protocol.ts';
import { keepAlive, upstreamEndpoint } from './target-address.ts';

/** What a connection needs of the stream listeners it came through. */
export interface StreamHooks {
  runtime: Runtime;
  metrics: StreamMetrics;
  /** Connections accepted and not ended yet (their bytes are read at scrape time; shutdown closes what is left). */
  live: LiveSet<StreamConnection>;
  /** Hands the client's socket to the stream's TLS server; it calls `secured` or `refuse` back. */
  terminate(connection: StreamConnection, socket: Socket): void;
  /** The connection ended: its access event. */
  ended(connection: StreamConnection): void;
}

/**
 * How often open connections are looked after (sweep): idle_ms and max_lifetime_ms are kept to within this, and
 * interim events come this late at most. One timer for all of them, not a timer per connection refreshed on every
 * chunk (`npm run bench -- --tcp`).
 */
export const SWEEP_MS = 250;
const EMPTY = Buffer.alloc(0);

export class StreamConnection {
  readonly stream: CompiledStream;
  readonly startMs = performance.now();
  /** The client's address: the peer's, or the one a trusted PROXY header names. */
  clientIp: string;
  clientPort: number;
  /** The SNI route that took the connection, or ''. */
  route = '';
  target: Target | undefined = undefined;
  tlsVersion = '';
  bytesIn = 0;
  bytesOut = 0;
  /** The bytes interim events have reported so far (the final event carries the rest), and how many there were. */
  reportedIn = 0;
  reportedOut = 0;
  interims = 0;
  /** Set once the connection ends: 200 when proxied, else the refusal's status (nginx stream's $status). */
  status = 0;
  errorCode: ErrorCode | undefined = undefined;
  refusal: StreamRefusal | undefined = undefined;
  reason: StreamCloseReason | undefined = undefined;
  connectStartMs = 0; // performance.now() when the target was asked,
  endMs = 0; // and when the connection ended
  readonly #raw: Socket;
  readonly #hooks: StreamHooks;
  #client: Socket;
  #upstream: Socket | undefined = undefined;
  /** The client's key in the stream's limits (its address, or IPv6 prefix) once it holds a place there. */
  #limitKey: string | undefined = undefined;
  #piped = false;
  #done = false;
  /** Bytes moved as of the last sweep, and since when none have (the idle clock); the last interim event's time. */
  #seenBytes = 0;
  #quietSinceMs = 0;
  #reportedAtMs = 0;
  /** Its cut final event is kept (events/unfinished.ts), since its first interim event or once open a second. */
  #cutKept = false;

  constructor(socket: Socket, stream: CompiledStream, hooks: StreamHooks) {
    this.#raw = socket;
    this.#client = socket;
    this.stream = stream;
    this.#hooks = hooks;
    hooks.live.add(this);
    // A dual-stack listener's IPv4 clients as IPv4 (::ffff:10.0.0.5 is 10.0.0.5), as HTTP's client-ip stage has it.
    this.clientIp = unmapIp(socket.remoteAddress ?? '');
    this.clientPort = socket.remotePort ?? 0;
    // Errors surface as 'close', where the connection is accounted for.
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const trusted = stream.trusted;
    // No address: the client reset its connection before it was accepted, and is gone.
    if (this.clientIp === '') this.refuse('client_closed');
    else if (trusted === undefined) this.#admit(EMPTY);
    else if (!trusted.contains(this.clientIp)) this.refuse('untrusted_proxy');
    else this.#readProxyHeader(socket);
  }

  #readProxyHeader(socket: Socket): void {
    readPrefix(socket, EMPTY, parseWhole, this.stream.config.timeouts.handshake_ms, (end, bytes) => {
      if (end.kind !== 'parsed')
        return void this.refuse(end.kind === 'timeout' ? 'handshake_timeout' : 'client_closed');
      const header = end.value;
      if (header.kind !== 'header') return void this.refuse('bad_proxy_header');
      if (header.source) {
        this.clientIp = header.source.ip;
        this.clientPort = header.source.port;
      }
      this.#admit(bytes.subarray(header.bytes));
    });
  }

  #admit(rest: Buffer): void {
    const s = this.stream;
    const ip = this.clientIp;
    if (s.deny?.contains(ip) || (s.allow !== undefined && !s.allow.contains(ip))) return void this.refuse('ip_denied');
    const key = clientKey(ip, s.config.limits.ipv6_prefix);
    const full = limitsOf(this.#hooks.runtime, 'stream', s.name).take(key, s.config.limits, performance.now());
    if (full !== undefined) return void this.refuse(full);
    this.#limitKey = key;
    if (s.config.tls) {
      if (rest.length > 0) this.#raw.unshift(rest);
      // Gone mid-handshake without a TLS error to say so: its place is given back all the same.
      this.#raw.once('close', () => {
        if (this.#client === this.#raw) this.refuse('client_closed');
      });
      this.#hooks.terminate(this, this.#raw);
    } else if (s.sni) {
      const sni = s.sni;
      readPrefix(this.#raw, rest, clientHelloPrefix(), s.config.timeouts.handshake_ms, (end, bytes) => {
        if (end.kind !== 'parsed')
          return void this.refuse(end.kind === 'timeout' ? 'handshake_timeout' : 'client_closed');
        if (end.value.kind !== 'hello') return void this.refuse('not_tls');
        const route = end.value.serverName === '' ? undefined : sni.find(end.value.serverName);
        const pool = route?.upstream ?? s.upstream;
        if (pool === undefined) return void this.refuse('no_route');
        this.route = route?.name ?? '';
        this.#connect(pool, bytes);
      });
    } else {
      this.#connect(s.upstream!, rest);
    }
  }

  /** The stream's TLS server finished the handshake: the plaintext side is what gets piped. */
  secured(socket: TLSSocket): void {
    if (this.#done) return void socket.destroy();
    this.#client = socket;
    socket.on('error', () => undefined);
    this.tlsVersion = socket.getProtocol() ?? '';
    this.#connect(this.stream.upstream!, EMPTY);
  }

  #connect(pool: UpstreamPool, first: Buffer): void {
    const client = this.#client;
    if (client.destroyed) return void this.refuse('client_closed');
    const breaker = pool.breaker;
    if (breaker !== undefined && !breaker.allow(performance.now())) {
      pool.counters.breakerRejected.inc();
      return void this.refuse('circuit_open');
    }
    const target = pool.pick({ clientIp: this.clientIp, headers: {}, path: '', query: '', appId: '' });
    if (target === undefined) return void this.refuse('no_target');
    this.target = target;
    target.active++;
    this.connectStartMs = performance.now();
    const { host, port, servername } = upstreamEndpoint(target, pool);
    // noDelay as an option, set once connected: setNoDelay() before the connect sets it at once and again on connect.
    const raw = connect({ host, port, allowHalfOpen: true, noDelay: true, ...keepAlive(this.stream.config.timeouts) });
    const send = this.stream.config.proxy_protocol.send;
    if (send !== 'off') raw.write(headerFor(send, this.clientIp, this.clientPort, this.#raw));
    const upstream: Socket = pool.tls
      ? process.getBuiltinModule('node:tls').connect({ socket: raw, servername, ...pool.tls })
      : raw;
    this.#upstream = upstream;
    if (upstream !== raw) raw.on('error', (err) => upstream.destroy(err));
    raw.setTimeout(this.stream.config.timeouts.connect_ms, () =>
      upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'TOLLGATE_CONNECT_TIMEOUT' })),
    );
    const failed = (err: Error) => {
      if (this.#piped || this.#done) return;
      const code = classifyUpstreamError(err);
      recordFailure(pool, target, `${this.clientIp}:${this.clientPort}`, err, code, true, false);
      this.refuse(code === 'GW_ERR_UPSTREAM_TIMEOUT' ? 'connect_timeout' : 'connect_failed');
    };
    upstream.on('error', failed);
    // The client left while its target was being reached.
    const left = () => this.refuse('client_closed');
    client.on('close', left);
    upstream.on(pool.tls ? 'secureConnect' : 'connect', () => {
      client.off('close', left);
      upstream.off('error', failed);
      raw.setTimeout(0);
      pool.passive.recordSuccess(target);
      breaker?.recordOutcome(performance.now(), false);
      this.#pipe(client, upstream, first);
    });
  }

  /**
   * Each direction by hand rather than with pipe(): counted as it goes, its source paused while the other side is
   * full, its end passed on (a half-close), with plain listeners instead of the dozen pipe() adds and takes off.
   * Each chunk's memory is freed once it is written (write-then-free.ts).
   */
  #pipe(client: Socket, upstream: Socket, first: Buffer): void {
    this.#piped = true;
    this.#hooks.metrics.of(this.stream.name).open.inc();
    if (first.length > 0) {
      this.bytesIn += first.length;
      upstream.write(first);
    }
    const resumeClient = () => client.resume();
    client.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      if (upstream.destroyed || writeThenFree(upstream, chunk)) return;
      client.pause();
      upstream.once('drain', resumeClient);
    });
    client.resume(); // paused when its PROXY header or ClientHello was read
    const resumeUpstream = () => upstream.resume();
    upstream.on('data', (chunk: Buffer) => {
      this.bytesOut += chunk.length;
      if (client.destroyed || writeThenFree(client, chunk)) return;
      upstream.pause();
      client.once('drain', resumeUpstream);
    });
    const clientEnded = () => {
      this.reason ??= 'client';
      upstream.end();
    };
    // A client whose PROXY header or ClientHello was read may have ended (all it sent read) before the target took it.
    if (client.readableEnded) clientEnded();
    else client.on('end', clientEnded);
    upstream.on('end', () => {
      this.reason ??= 'upstream';
      client.end();
    });
    client.on('error', () => void (this.reason ??= 'client'));
    upstream.on('error', () => void (this.reason ??= 'upstream_error'));
    this.#quietSinceMs = performance.now();
    this.#reportedAtMs = this.#quietSinceMs;
    let closed = 0;
    const closedOne = () => {
      if (++closed === 2) this.#finish();
    };
    // The client gone, what the target sends can reach no one. The target gone, the client gets what is on its way.
    client.on('close', () => {
      upstream.destroy();
      closedOne();
    });
    upstream.on('close', (hadError: boolean) => {
      if (hadError) client.destroy();
      else if (!client.destroyed) {
        // Usually done already (ended when the target's side ended): then nothing to wait for.
        if (!client.writableEnded) client.end();
        cutIfStillOpen(client);
      }
      closedOne();
    });
  }

  /**
   * The sweep's look at a proxied connection (every SWEEP_MS): closed when idle or past its lifetime; through
   * `report`, an interim event once `interimMs` has passed since its last event, and before the first, once open
   * KEEP_CUT_AFTER_MS, its cut final event kept (interim false).
   */
  sweep(nowMs: number, interimMs: number, report: ((c: StreamConnection, interim: boolean) => void) | undefined): void {
    if (!this.#piped || this.#done) return;
    const t = this.stream.config.timeouts;
    const moved = this.bytesIn + this.bytesOut;
    if (moved !== this.#seenBytes) {
      this.#seenBytes = moved;
      this.#quietSinceMs = nowMs;
    } else if (t.idle_ms > 0 && nowMs - this.#quietSinceMs >= t.idle_ms) return void this.close('idle');
    if (t.max_lifetime_ms > 0 && nowMs - this.startMs >= t.max_lifetime_ms) return void this.close('lifetime');
    if (report === undefined) return;
    const sinceMs = nowMs - this.#reportedAtMs;
    if (sinceMs >= interimMs) {
      this.#reportedAtMs = nowMs;
      this.#cutKept = true;
      report(this, true);
    } else if (!this.#cutKept && sinceMs >= KEEP_CUT_AFTER_MS) {
      this.#cutKept = true;
      report(this, false);
    }
  }

  /** Ends a connection for the gateway's own reason (idle, lifetime, shutdown); one not proxied yet is refused. */
  close(reason: StreamCloseReason): void {
    if (!this.#piped) return void this.refuse(reason === 'shutdown' ? 'shutdown' : 'client_closed');
    this.reason ??= reason;
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  /** Closes a connection that never reached a target, counted with `why`. */
  refuse(why: StreamRefusal): void {
    if (this.#done) return;
    this.refusal = why;
    const code = REFUSAL_CODES[why];
    this.errorCode = code;
    this.status = code === undefined ? 499 : errors[code].status;
    this.#hooks.metrics.refused.inc({ stream: this.stream.name, reason: why });
    this.#client.destroy();
    this.#raw.destroy();
    this.#upstream?.destroy();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.endMs = performance.now();
    if (this.#limitKey !== undefined) limitsOf(this.#hooks.runtime, 'stream', this.stream.name).give(this.#limitKey);
    if (this.target !== undefined) this.target.active--;
    this.#hooks.live.delete(this);
    if (this.#piped) {
      this.status = 200;
      const name = this.stream.name;
      const series = this.#hooks.metrics.of(name);
      series.open.dec();
      series.closed(this.reason ?? 'client').inc();
      this.#hooks.metrics.ended(name, this.bytesIn, this.bytesOut);
    }
    this.#hooks.ended(this);
  }

  /** The TCP peer as `address|port`, keying a TLS handshake under way; made when asked, as plain streams never do. */
  get peer(): string {
    return peerKey(this.#raw);
  }

  /** Whether the connection reached its target (an access event's upstream status 200). */
  get proxied(): boolean {
    return this.#piped;
  }
}

/** A socket's TCP peer (a balancer's, under PROXY headers) as `address|port`; Node keeps it once read. */
export const peerKey = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

import { Resolver, lookup } from 'node:dns/promises';
import type { RecordWithTtl } from 'node:dns';
import { isIP } from 'node:net';
import { type DiscoveredTarget, originFor, type TargetSource, type TargetsListener } from './source.ts';

export interface DnsSourceOptions {
  hostname: string;
  /** Port of every resolved target. */
  port: number;
  scheme?: 'http' | 'https' | 'tcp';
  /** Weight of every resolved target (default 1). */
  weight?: number;
  /** Re-resolve no more often than this, whatever the TTL (default 1000). */
  minTtlMs?: number;
  /** Re-resolve at least this often, whatever the TTL (default 60000). */
  maxTtlMs?: number;
  /** Refresh of names only the system resolver knows (no TTL), clamped to the TTL bounds (default 30000). */
  lookupRefreshMs?: number;
  /** Retry delay after a failed resolution (default 2000). */
  retryMs?: number;
  /** Per-query timeout of the DNS client (default 2000). */
  resolveTimeoutMs?: number;
  /**
   * DNS servers (`ip` or `ip:port`) to ask instead of the system's. When set,
   * names they do not know fail instead of falling back to the system
   * resolver: the operator named the authority (e.g. Consul DNS).
   */
  servers?: string[];
  /** 4 or 6 to ask for one record type only (some servers mishandle AAAA); 0 = both (default). */
  family?: 0 | 4 | 6;
  /** Told of every failed resolution; the last good list stays in use. */
  onError?: (err: Error) => void;
  /** Told of every resolution that succeeded (outageLog's onOk). */
  onOk?: () => void;
}

interface Resolution {
  addresses: string[];
  refreshMs: number;
}

/**
 * Targets from a hostname's A and AAAA records, re-resolved when the smallest
 * TTL runs out. `localhost`, and names DNS does not know, go through the system
 * resolver (getaddrinfo: /etc/hosts and the like), which gives no TTL.
 */
export class DnsSource implements TargetSource {
  readonly #options: Required<Omit<DnsSourceOptions, 'servers' | 'onError' | 'onOk'>> &
    Pick<DnsSourceOptions, 'servers' | 'onError' | 'onOk'>;
  readonly #resolver: Resolver;
  #onTargets: TargetsListener | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by stop(), so a resolution that settles afterwards is dropped. */
  #generation = 0;
  #lastKey: string | undefined;

  constructor(options: DnsSourceOptions) {
    this.#options = {
      hostname: options.hostname,
      port: options.port,
      scheme: options.scheme ?? 'http',
      weight: options.weight ?? 1,
      minTtlMs: options.minTtlMs ?? 1000,
      maxTtlMs: options.maxTtlMs ?? 60_000,
      lookupRefreshMs: options.lookupRefreshMs ?? 30_000,
      retryMs: options.retryMs ?? 2000,
      resolveTimeoutMs: options.resolveTimeoutMs ?? 2000,
      family: options.family ?? 0,
      servers: options.servers,
      onError: options.onError,
      onOk: options.onOk,
    };
    // Two tries: a lost UDP packet is retried, a dead server is not waited on for long.
    this.#resolver = new Resolver({ timeout: this.#options.resolveTimeoutMs, tries: 2 });
    if (options.servers !== undefined) this.#resolver.setServers(options.servers);
  }

  start(onTargets: TargetsListener): void {
    if (this.#onTargets !== undefined) return;
    this.#onTargets = onTargets;
    this.#lastKey = undefined;
    if (isIP(this.#options.hostname) !== 0) {
      this.#emitIfChanged([this.#options.hostname]);
      return;
    }
    void this.#refresh(this.#generation);
  }

  stop(): void {
    this.#generation++;
    this.#onTargets = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#resolver.cancel();
  }

  async #refresh(generation: number): Promise<void> {
    let resolution: Resolution | undefined;
    try {
      resolution = await this.#resolve();
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
    if (generation !== this.#generation) return;
    if (resolution !== undefined) this.#options.onOk?.();
    const delayMs = resolution === undefined ? this.#options.retryMs : resolution.refreshMs;
    this.#timer = setTimeout(() => void this.#refresh(generation), delayMs).unref();
    if (resolution !== undefined) this.#emitIfChanged(resolution.addresses);
  }

  async #resolve(): Promise<Resolution> {
    const { hostname, family } = this.#options;
    if (hostname === 'localhost') return this.#lookup();
    const [v4, v6] = await Promise.all([
      family === 6 ? [] : recordsOrNone(this.#resolver.resolve4(hostname, { ttl: true })),
      family === 4 ? [] : recordsOrNone(this.#resolver.resolve6(hostname, { ttl: true })),
    ]);
    const records = [...v4, ...v6];
    if (records.length === 0) {
      if (this.#options.servers === undefined) return this.#lookup();
      throw Object.assign(new Error(`no A/AAAA records for ${hostname}`), { code: 'ENODATA', hostname });
    }
    const ttlMs = Math.min(...records.map((r) => r.ttl * 1000));
    return { addresses: records.map((r) => r.address), refreshMs: this.#clamp(ttlMs) };
  }

  async #lookup(): Promise<Resolution> {
    const found = await lookup(this.#options.hostname, { all: true, family: this.#options.family });
    if (found.length === 0) throw new Error(`no addresses for ${this.#options.hostname}`);
    return { addresses: found.map((a) => a.address), refreshMs: this.#clamp(this.#options.lookupRefreshMs) };
  }

  #clamp(ms: number): number {
    return Math.min(Math.max(ms, this.#options.minTtlMs), this.#options.maxTtlMs);
  }

  #emitIfChanged(addresses: string[]): void {
    const { scheme, port, weight, hostname } = this.#options;
    const origins = [...new Set(addresses)].map((ip) => originFor(scheme, ip, port)).sort();
    const key = origins.join(' ');
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    // An address given as the name is its own Host and has no TLS name.
    const name = isIP(hostname) === 0 ? hostname : undefined;
    this.#onTargets?.(
      origins.map((origin) => ({ origin, weight, ...(name ? { hostname: name } : {}) }) satisfies DiscoveredTarget),
    );
  }
}

/** A missing name or a missing record type is an empty answer, not a failure. */
async function recordsOrNone(query: Promise<RecordWithTtl[]>): Promise<RecordWithTtl[]> {
  try {
    return await query;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw err;
  }
}

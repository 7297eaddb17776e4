/**
 * Targets from Consul: the passing instances of a service (`/v1/health/service/<name>?passing=true`), kept in step
 * with blocking queries on `X-Consul-Index`, as Consul's own clients do: the index going backwards starts over at 0,
 * the same index is no change. A target's weight is its `Weights.Passing`, or the integer in a Service.Meta key;
 * `tag` picks instances (a canary group's upstream can ask for `tag: canary`).
 */
import { sleep } from '../../../../shared/sleep.ts';
import { request } from '../undici.ts';
import type { TlsFiles } from '../tls-files.ts';
import { type DiscoveredTarget, notAHost, registryOrigin, secretOf, sessionAgent } from './source.ts';
import { type RegistryHooks, RegistrySource } from './registry.ts';

export interface ConsulOptions {
  /** The agent's HTTP API, `http://127.0.0.1:8500`. */
  address: string;
  service: string;
  tag?: string;
  datacenter?: string;
  token?: string;
  /** Scheme of the targets (default http). */
  scheme?: 'http' | 'https' | 'tcp';
  /** TLS to an https:// agent: its CAs and a client certificate. */
  tls?: TlsFiles;
  /** A file holding the ACL token, read at each session (instead of `token`). */
  tokenFile?: string;
  /** A Service.Meta key holding the weight (1..1000); absent or not a number: Weights.Passing. */
  weightMeta?: string;
  /** How long a blocking query waits for a change (default 30 s). */
  waitS?: number;
  /** Connect and first-answer timeout of a query that does not block (default 2000). */
  timeoutMs?: number;
}

interface HealthEntry {
  Node?: { Address?: string };
  Service?: {
    ID?: string;
    Address?: string;
    Port?: number;
    Weights?: { Passing?: number };
    Meta?: Record<string, string>;
  };
}

/** The targets of a health answer, and the entries skipped with why. */
export function targetsOfHealth(
  entries: HealthEntry[],
  options: Pick<ConsulOptions, 'scheme' | 'weightMeta'>,
): { targets: DiscoveredTarget[]; skipped: Array<{ entry: string; reason: string }> } {
  const targets: DiscoveredTarget[] = [];
  const skipped: Array<{ entry: string; reason: string }> = [];
  for (const e of entries) {
    const s = e.Service ?? {};
    const host = s.Address || e.Node?.Address;
    const id = s.ID ?? '?';
    if (!host || !Number.isInteger(s.Port) || (s.Port as number) < 1 || (s.Port as number) > 65535) {
      skipped.push({ entry: id, reason: 'no address or port' });
      continue;
    }
    const origin = registryOrigin(options.scheme ?? 'http', host, s.Port as number);
    if (origin === undefined) {
      skipped.push({ entry: id, reason: notAHost(host) });
      continue;
    }
    const fromMeta = options.weightMeta === undefined ? undefined : Number(s.Meta?.[options.weightMeta]);
    const raw = fromMeta !== undefined && Number.isInteger(fromMeta) ? fromMeta : (s.Weights?.Passing ?? 1);
    const weight = Math.min(Math.max(Math.trunc(raw), 1), 1000);
    if (!targets.some((t) => t.origin === origin)) targets.push({ origin, weight });
  }
  targets.sort((a, b) => (a.origin < b.origin ? -1 : 1));
  return { targets, skipped };
}

export function consulSource(options: ConsulOptions, hooks: RegistryHooks = {}): RegistrySource {
  const waitS = options.waitS ?? 30;
  const timeoutMs = options.timeoutMs ?? 2000;
  const origin = new URL(options.address).origin;
  const base = `/v1/health/service/${encodeURIComponent(options.service)}`;
  const source: RegistrySource = new RegistrySource(
    'consul',
    async (emit, signal) => {
      const agent = sessionAgent(options.tls, timeoutMs, 0, signal);
      const token = options.tokenFile ? secretOf(options.tokenFile) : options.token;
      let index = '0';
      for (;;) {
        const q = new URLSearchParams({ passing: 'true', index, wait: `${waitS}s` });
        if (options.tag) q.set('tag', options.tag);
        if (options.datacenter) q.set('dc', options.datacenter);
        // Consul answers a blocking query within wait plus up to wait/16 of jitter; more than that is a hang.
        const limit = index === '0' ? timeoutMs : Math.ceil(waitS * 1000 * (17 / 16)) + timeoutMs;
        const res = await request(agent, {
          origin,
          path: `${base}?${q}`,
          method: 'GET',
          headers: token ? { 'x-consul-token': token } : {},
          signal: AbortSignal.any([signal, AbortSignal.timeout(limit)]),
        });
        if (res.statusCode !== 200) {
          const text = await res.body.text().catch(() => '');
          throw new Error(`consul ${origin}${base} answered ${res.statusCode}: ${text.slice(0, 200)}`);
        }
        const entries = (await res.body.json()) as HealthEntry[];
        const got = String(res.headers['x-consul-index'] ?? '0');
        index = BigInt(got) < BigInt(index) || got === '0' ? '0' : got;
        const { targets, skipped } = targetsOfHealth(entries, options);
        source.skipped = skipped;
        emit(targets);
        // An index of 0 would not block: wait a little so a registry without indexes is not asked in a loop.
        if (index === '0') await sleep(1000, signal);
      }
    },
    hooks,
  );
  return source;
}

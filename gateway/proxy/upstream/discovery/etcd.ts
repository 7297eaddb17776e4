/**
 * Targets from etcd v3: one key per target under a prefix, read with a range and kept in step with a watch from the
 * range's revision + 1, through etcd's JSON gateway (`/v3/kv/range`, `/v3/watch`; docs/decisions/0013-discovery.md).
 * A value is `{"url": "http://10.0.0.7:8080", "weight": 2, "metadata": {...}}` (or `address` and `port` for `url`).
 * A watch carries no heartbeat, so a cheap status call every `probeMs` notices a registry that hangs; a registry
 * that goes away ends the stream. Either way the session ends and registry.ts retries (another endpoint, if any),
 * reading the whole prefix again, which also covers a compacted revision.
 */
import { request } from '../undici.ts';
import type { TlsFiles } from '../tls-files.ts';
import { type DiscoveredTarget, notAHost, originOf, registryOrigin, secretOf, sessionAgent } from './source.ts';
import { type RegistryHooks, RegistrySource } from './registry.ts';
import { targetUrlProblem } from '../target.ts';

export interface EtcdOptions {
  endpoints: string[];
  prefix: string;
  /** Each call's timeout, and the connect timeout (default 2000). */
  timeoutMs?: number;
  /** How often a watching session checks that etcd still answers (default 5000). */
  probeMs?: number;
  /** The schemes the upstream's protocol can speak (h2: https, h2c: http; default both). */
  schemes?: string[];
  /** An etcd user and the file holding its password (read at each session), when etcd has auth enabled. */
  username?: string;
  passwordFile?: string;
  tls?: TlsFiles;
}

interface KeyValue {
  key: string;
  value?: string;
  mod_revision?: string;
}
interface WatchLine {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: Array<{ type?: 'PUT' | 'DELETE'; kv: KeyValue }>;
  };
  error?: { message?: string; grpc_code?: number };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();

/** The end of a prefix's key range: the prefix with its last byte incremented (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}

/** A target from a value, or why the value is not one. */
export function targetOfValue(value: string, schemes = ['http', 'https']): DiscoveredTarget | string {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'not a JSON object';
  const { url, address, port, scheme, weight } = v as Record<string, unknown>;
  const w = weight === undefined ? 1 : weight;
  if (!Number.isInteger(w) || (w as number) < 1 || (w as number) > 1000) return 'weight must be an integer 1..1000';
  if (typeof url === 'string') {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `url ${JSON.stringify(url)} is not a URL`;
    }
    if (!schemes.includes(u.protocol.slice(0, -1))) return `url must be ${schemes.map((x) => `${x}://`).join(' or ')}`;
    if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return 'url must be an origin (no path)';
    const problem = targetUrlProblem(u);
    if (problem !== undefined) return problem;
    // tcp:// (a stream's target) has no default port.
    if (u.origin === 'null' && u.port === '') return 'url needs a port';
    return { origin: originOf(u), weight: w as number };
  }
  if (typeof address === 'string' && address.length > 0 && Number.isInteger(port)) {
    if ((port as number) < 1 || (port as number) > 65535) return 'port must be 1..65535';
    const s = scheme === undefined ? (schemes.includes('tcp') ? 'tcp' : 'http') : scheme;
    if (typeof s !== 'string' || !schemes.includes(s)) return `scheme must be ${schemes.join(' or ')}`;
    const origin = registryOrigin(s, address, port as number);
    return origin === undefined ? notAHost(address) : { origin, weight: w as number };
  }
  return 'needs url, or address and port';
}

export function etcdSource(options: EtcdOptions, hooks: RegistryHooks = {}): RegistrySource {
  const timeoutMs = options.timeoutMs ?? 2000;
  const probeMs = options.probeMs ?? 5000;
  const range = { key: b64(options.prefix), range_end: prefixRangeEnd(options.prefix).toString('base64') };
  let next = 0;
  const source: RegistrySource = new RegistrySource(
    'etcd',
    async (emit, signal) => {
      const endpoint = options.endpoints[next++ % options.endpoints.length].replace(/\/+$/, '');
      const agent = sessionAgent(options.tls, timeoutMs, timeoutMs, signal);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const call = async (path: string, body: object, s: AbortSignal) => {
        const res = await request(agent, {
          origin: endpoint,
          path,
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: s,
        }).catch((err: Error) => {
          // A refused handshake says only what OpenSSL says: name the registry it came from.
          throw s.aborted ? err : new Error(`etcd ${endpoint}${path}: ${err.message}`, { cause: err });
        });
        if (res.statusCode !== 200) {
          const text = await res.body.text().catch(() => '');
          throw new Error(`etcd ${endpoint}${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
        }
        return res.body;
      };
      const timed = () => AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      if (options.username !== undefined) {
        // etcd's auth: a token per session, sent as Authorization on each call after.
        const password = secretOf(options.passwordFile!);
        const auth = await call('/v3/auth/authenticate', { name: options.username, password }, timed());
        headers.authorization = ((await auth.json()) as { token: string }).token;
      }
      const read = (await (await call('/v3/kv/range', range, timed())).json()) as {
        header: { revision: string };
        kvs?: KeyValue[];
      };
      const entries = new Map<string, string>();
      for (const kv of read.kvs ?? []) entries.set(unb64(kv.key), unb64(kv.value));
      const publish = () => {
        const targets: DiscoveredTarget[] = [];
        const skipped: Array<{ entry: string; reason: string }> = [];
        for (const [key, value] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const t = targetOfValue(value, options.schemes);
          if (typeof t === 'string') skipped.push({ entry: key, reason: t });
          else if (!targets.some((x) => x.origin === t.origin)) targets.push(t);
        }
        source.skipped = skipped;
        emit(targets);
      };
      publish();
      // The watch: a stream of JSON lines, until etcd goes away, cancels it, or stops answering the probe.
      const watching = new AbortController();
      const watchSignal = AbortSignal.any([signal, watching.signal]);
      const probe = setInterval(() => {
        call('/v3/maintenance/status', {}, AbortSignal.any([watchSignal, AbortSignal.timeout(timeoutMs)]))
          .then((b) => b.dump())
          .catch((err: Error) => watching.abort(new Error(`etcd ${endpoint} stopped answering: ${err.message}`)));
      }, probeMs);
      try {
        const startRevision = String(BigInt(read.header.revision) + 1n);
        const stream = await call(
          '/v3/watch',
          { create_request: { ...range, start_revision: startRevision } },
          watchSignal,
        );
        let buffered = '';
        for await (const chunk of stream.setEncoding('utf8')) {
          buffered += chunk;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            nl = buffered.indexOf('\n');
            if (line === '') continue;
            const msg = JSON.parse(line) as WatchLine;
            if (msg.error) throw new Error(`etcd watch failed: ${msg.error.message ?? 'unknown error'}`);
            const r = msg.result;
            if (r?.canceled || r?.compact_revision) {
              throw new Error(`etcd cancelled the watch: ${r.cancel_reason || `compacted at ${r.compact_revision}`}`);
            }
            if (!r?.events?.length) continue;
            for (const e of r.events) {
              if (e.type === 'DELETE') entries.delete(unb64(e.kv.key));
              else entries.set(unb64(e.kv.key), unb64(e.kv.value));
            }
            publish();
          }
        }
        if (watching.signal.aborted) throw watching.signal.reason;
      } catch (err) {
        if (watching.signal.aborted && !signal.aborted) throw watching.signal.reason;
        throw err;
      } finally {
        clearInterval(probe);
      }
    },
    hooks,
  );
  return source;
}

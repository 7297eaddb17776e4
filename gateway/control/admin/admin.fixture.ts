// An admin API on an in-memory control plane, for the admin API's tests.
import type {
  ApplyResult,
  ConfigEdit,
  ConfigError,
  ConfigSource,
  ConfigVersion,
  ConfigVersionSummary,
  ControlPlane,
  EditResult,
  UpstreamHealth,
} from '../types.ts';
import { startAdmin } from './server.ts';

/**
 * A minimal in-memory control plane: the admin API is what is under test.
 * Its validator knows just enough of the config shape to produce path errors;
 * the integration suite runs the admin API on the real ConfigManager.
 */
export class MemoryControlPlane implements ControlPlane {
  versions: ConfigVersion[] = [];
  isReady = true;

  constructor(config: Record<string, unknown>) {
    this.#push(config, 'file', 'initial');
  }

  current(): ConfigVersion {
    return this.versions.at(-1)!;
  }

  async validate(raw: unknown): Promise<ConfigError[]> {
    return this.check(raw);
  }

  check(raw: unknown): ConfigError[] {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      return [{ path: '', message: 'must be an object' }];
    const services = (raw as { services?: unknown }).services ?? [];
    if (!Array.isArray(services)) return [{ path: '/services', message: 'must be an array' }];
    const errors: ConfigError[] = [];
    services.forEach((s: { name?: unknown; upstream?: { targets?: Array<{ url?: unknown }> } }, i) => {
      if (typeof s.name !== 'string') errors.push({ path: `/services/${i}/name`, message: 'must be a string' });
      (s.upstream?.targets ?? []).forEach((t, j) => {
        if (typeof t.url !== 'string' || !/^https?:\/\//.test(t.url)) {
          errors.push({ path: `/services/${i}/upstream/targets/${j}/url`, message: 'must be an http(s) origin' });
        }
      });
    });
    return errors;
  }

  async apply(raw: unknown, source: ConfigSource, note: string): Promise<ApplyResult> {
    const errors = this.check(raw);
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, version: this.#push(raw as Record<string, unknown>, source, note) };
  }

  async edit(change: ConfigEdit, note: string, ifMatch?: number[]): Promise<EditResult> {
    if (ifMatch && !ifMatch.includes(this.current().version))
      return { ok: false, versionMismatch: { serving: this.current().version } };
    const next = change(this.current().config);
    return 'notFound' in next ? { ok: false, notFound: next.notFound } : this.apply(next.config, 'admin', note);
  }

  async history(limit: number): Promise<ConfigVersionSummary[]> {
    return this.versions
      .slice()
      .reverse()
      .slice(0, limit)
      .map(({ config: _c, ...s }) => s);
  }

  async version(version: number): Promise<ConfigVersion | undefined> {
    return this.versions.find((x) => x.version === version);
  }

  async rollback(version: number, ifMatch?: number[]): Promise<EditResult | undefined> {
    const v = this.versions.find((x) => x.version === version);
    if (v && ifMatch && !ifMatch.includes(this.current().version))
      return { ok: false, versionMismatch: { serving: this.current().version } };
    return v && this.apply(v.config, 'rollback', `rollback to ${version}`);
  }

  /** Files are not read here: the head is validated again, as the real manager checks what it re-read. */
  async reloadTlsFiles(): Promise<ApplyResult> {
    const errors = await this.validate(this.current().config);
    if (errors.length > 0) return { ok: false, errors };
    const { config: _c, ...version } = this.current();
    return { ok: true, version };
  }

  certificates(): [] {
    return [];
  }

  health(): UpstreamHealth[] {
    return [
      {
        service: 'api',
        targets: [{ id: 'http://127.0.0.1:9001', weight: 1, healthy: true, ejected: false, active: 2 }],
      },
    ];
  }

  metricsText = 'tollgate_up 1\n';

  async metrics() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: this.metricsText };
  }

  ready(): boolean {
    return this.isReady;
  }

  #push(config: Record<string, unknown>, source: ConfigSource, note: string): ConfigVersionSummary {
    const v: ConfigVersion = {
      version: this.versions.length + 1,
      config,
      source,
      createdAt: new Date().toISOString(),
      fileHash: 'f'.repeat(64),
      note,
    };
    this.versions.push(v);
    const { config: _c, ...summary } = v;
    return summary;
  }
}

export const apiService = {
  name: 'api',
  routes: [{ path: '/api' }],
  upstream: { targets: [{ url: 'http://127.0.0.1:9001' }] },
};
export const TOKEN = 'a-long-enough-admin-token';

export async function withAdmin(
  fn: (call: Call, control: MemoryControlPlane) => Promise<void>,
  token?: string,
): Promise<void> {
  const control = new MemoryControlPlane({ services: [apiService] });
  const admin = await startAdmin({ host: '127.0.0.1', port: 0, token, control });
  const base = `http://127.0.0.1:${admin.port}`;
  const call: Call = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (token && init.auth !== false) headers.authorization ??= `Bearer ${token}`;
    let body = init.raw;
    if (init.json !== undefined) body = JSON.stringify(init.json);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: type.includes('json') ? JSON.parse(text) : undefined,
    };
  };
  try {
    await fn(call, control);
  } finally {
    await admin.close();
  }
}

export type Call = (
  method: string,
  path: string,
  init?: { json?: unknown; raw?: string; headers?: Record<string, string>; auth?: false },
) => Promise<{ status: number; headers: Headers; text: string; body: any }>;

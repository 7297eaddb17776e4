import type { CertificateReport } from '../proxy/listeners/certificate-report.ts';
/**
 * The control plane's contracts: how config versions are stored and applied.
 * The data plane (proxy workers) only ever sees compiled snapshots.
 */
import type { Config } from './config/schema.ts';
import type { DiscoveryStatus } from '../proxy/upstream/discovery/source.ts';

/** A config as the operator wrote it (YAML or JSON), before defaults. */
export type RawConfig = Record<string, unknown>;

export type ConfigSource = 'file' | 'admin' | 'rollback' | 'reload';

export interface ConfigVersion {
  /** Monotonic, assigned by the store (1, 2, 3, ...). */
  version: number;
  config: RawConfig;
  source: ConfigSource;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** Hash of the config file this version was built from (file/reload versions), or of the file it was applied on top
   * of (admin/rollback): of the file's parsed config (control/file-hash.ts), so comments and formatting do not count;
   * earlier releases hashed its bytes. */
  fileHash: string;
  /** Free text, e.g. "PUT /services/api" or "rollback to 3". */
  note: string;
}

export type ConfigVersionSummary = Omit<ConfigVersion, 'config'>;

/**
 * Persists applied config versions. File store (single node) or Redis
 * (cluster: every node watches and applies the head within a second).
 * History is bounded; the oldest versions are pruned past `historyLimit`.
 */
export interface ConfigStore {
  head(): Promise<ConfigVersion | undefined>;
  get(version: number): Promise<ConfigVersion | undefined>;
  /** Newest first. */
  list(limit: number): Promise<ConfigVersionSummary[]>;
  /**
   * Assigns the next version number atomically and makes it the head. With
   * `base` (the version `v` was derived from) it is a compare-and-set: when
   * the head has moved past `base` nothing is stored and it rejects with
   * ConfigConflictError (store/conflict.ts). Without `base` it appends on top
   * of whatever is the head.
   */
  append(v: Omit<ConfigVersion, 'version'>, base?: number): Promise<ConfigVersion>;
  /**
   * Called when another writer (another node) moves the head. `onLost`: the
   * store's head went back behind versions it held (Redis restarted empty, a
   * flush), called with that head on every check until it moves forward again.
   * No-op for single-node stores.
   */
  watch(onHead: (v: ConfigVersion) => void, onLost?: (head: number) => void): void;
  close(): Promise<void>;
}

/** One field error: JSON-pointer-like path (`/services/0/upstream/targets/1/url`) and what is wrong. */
export interface ConfigError {
  path: string;
  message: string;
}

/** A version as an apply or edit answers it: with the restart-only settings the serving config holds other than the
 * process started with (config/restart-only.ts), when there are any. */
export type AppliedVersion = ConfigVersionSummary & { restartPending?: string[] };

export type ApplyResult = { ok: true; version: AppliedVersion } | { ok: false; errors: ConfigError[] };

/**
 * An admin edit: given the config serving when the edit's turn in the apply
 * queue comes, the config to apply, or what it found missing.
 */
export type ConfigEdit = (serving: RawConfig) => { config: RawConfig } | { notFound: string };

export type EditResult =
  | ApplyResult
  | { ok: false; notFound: string }
  /** If-Match named versions of which none is serving any more. */
  | { ok: false; versionMismatch: { serving: number } }
  /** Other nodes appended to the shared store first on every one of `attempts` tries; nothing was changed. */
  | { ok: false; conflict: { serving: number; attempts: number } }
  /** The shared store is at `head`, which does not validate on this node (still serving `serving`); nothing was
   * changed. */
  | { ok: false; behind: { head: number; serving: number; errors: ConfigError[] } };

export interface TargetHealth {
  id: string;
  weight: number;
  healthy: boolean;
  ejected: boolean;
  active: number;
}

export interface UpstreamHealth {
  service: string;
  targets: TargetHealth[];
  /** Where the targets come from, when a registry (etcd, Consul) has them. */
  discovery?: DiscoveryStatus;
}

/** What the admin API drives. Implemented by gateway/control/config-manager.ts. */
export interface ControlPlane {
  current(): ConfigVersion;
  /** The restart-only settings the serving config holds other than the process started with (AppliedVersion). */
  restartPending?(): string[];
  /** A large config is validated on a worker thread (validateOffThread). */
  validate(raw: unknown): Promise<ConfigError[]>;
  /** A whole config, which depends on nothing serving: appended on top of whatever is the store's head. */
  apply(raw: unknown, source: ConfigSource, note: string): Promise<ApplyResult>;
  /**
   * A read-modify-write inside the apply queue, so concurrent edits compose
   * instead of each overwriting the others; across nodes sharing a store the
   * append is a compare-and-set, and an edit another node beat is redone on
   * that node's version. With `ifMatch` (the versions an If-Match header
   * names) it is refused unless one of them is still the head.
   */
  edit(change: ConfigEdit, note: string, ifMatch?: number[]): Promise<EditResult>;
  history(limit: number): Promise<ConfigVersionSummary[]>;
  /** One version with its config; undefined when it is not in the history. */
  version(version: number): Promise<ConfigVersion | undefined>;
  /** An edit to that version's config (see edit). Undefined when the version is not in the history. */
  rollback(version: number, ifMatch?: number[]): Promise<EditResult | undefined>;
  /**
   * Reads the serving config's TLS files again (listeners' and the admin's certificates, CAs, CRLs, ticket
   * keys; upstreams' CA bundles and client certificates), as SIGHUP and the TLS file watch do: new content is
   * checked as at an apply and serves new connections; refused content leaves the old serving.
   */
  reloadTlsFiles(): Promise<ApplyResult>;
  /** The certificates the serving config's listeners, streams and admin listener serve, soonest to expire first. */
  certificates(): CertificateReport[];
  health(): UpstreamHealth[];
  /** Prometheus text exposition of every process (workers aggregated); OpenMetrics, with exemplars, when asked. */
  metrics(openMetrics?: boolean): Promise<{ contentType: string; body: string }>;
  /** True once a config is compiled and the proxy listener accepts connections. */
  ready(): boolean;
}

/** Where compiled configs go: the in-process data plane, or every worker over IPC. */
export interface DataPlanePort {
  /** Serves `config`; a promise resolves once every proxy worker serves it (cluster.ts rolls it out one at a time). */
  apply(config: Config, version: number): void | Promise<void>;
  health(): UpstreamHealth[];
  metrics(openMetrics?: boolean): Promise<{ contentType: string; body: string }>;
  /** Counts applies: ok, invalid (refused by validation), error (the store could not save it). */
  onReload?(result: 'ok' | 'invalid' | 'error'): void;
  /** Counts an edit's lost compare-and-set races: retried on the adopted newer head, or gave_up (the edit gets a
   * conflict). */
  onConflict?(result: 'retried' | 'gave_up'): void;
  /** How many restart-only settings of the serving config wait for a restart (config/restart-only.ts). */
  onRestartPending?(settings: number): void;
}

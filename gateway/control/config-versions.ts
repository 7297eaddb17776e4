import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config/schema.ts';
import { validateConfig, type LoadResult } from './config/load.ts';
import { validateChange } from './config/validate-edit.ts';
import type { Logger } from '../log.ts';
import { tlsFilesSeen, type TlsFilesSeen } from '../proxy/upstream/tls-files.ts';
import { LogSettings } from './log-settings.ts';
import { ConfigConflictError, EDIT_ATTEMPTS } from './store/conflict.ts';
import { fromStore, StoreUnavailableError } from '../errors.ts';
import { exposedSettings } from './config/exposed.ts';
import { restartPending } from './config/restart-only.ts';
import type {
  AppliedVersion,
  ApplyResult,
  ConfigEdit,
  ConfigError,
  ConfigSource,
  ConfigStore,
  ConfigVersion,
  ConfigVersionSummary,
  DataPlanePort,
  EditResult,
  RawConfig,
} from './types.ts';

export const summary = ({ config: _c, ...rest }: ConfigVersion): ConfigVersionSummary => rest;

/**
 * The versions side of the config lifecycle, which ConfigManager
 * (config-manager.ts) adds the config file and the admin API's calls to:
 * the serving version, the store (history, other nodes' versions, a store
 * that lost them), edits appended by compare-and-set and redone on a newer
 * head, and every apply to the data plane, one at a time.
 */
export abstract class ConfigVersions {
  protected readonly store: ConfigStore;
  protected readonly port: DataPlanePort;
  protected readonly log: Logger;
  protected head!: ConfigVersion;
  /** The head's config as validated and served: an edit of it is validated by what it changes (validateChange). */
  protected serving: Config | undefined;
  /** Applies the serving config's log settings (with defaults and env overrides) to `log`. */
  protected readonly logSettings: LogSettings;
  protected fileHash = '';
  /** The upstreams' TLS files the data plane was given: a reload of an unchanged config file compares them. */
  protected tlsFiles: TlsFilesSeen = { texts: new Map() };
  /** The newest shared version this node could not validate (a TLS file it lacks, say): adopted as soon as its files
   * change or on SIGHUP. */
  protected refused: ConfigVersion | undefined;
  protected queue: Promise<unknown> = Promise.resolve();

  constructor(opts: { store: ConfigStore; port: DataPlanePort; log: Logger }) {
    this.store = opts.store;
    this.port = opts.port;
    this.log = opts.log;
    this.logSettings = new LogSettings(opts.log);
  }

  /**
   * Sets the serving version (already applied to the data plane by the
   * caller) and starts watching other nodes. `fileHash`: fileHashOf the
   * file's config (the hash of its bytes is understood too); `config`: the
   * version validated (validated here when absent).
   */
  init(version: ConfigVersion, fileHash: string, config?: Config): void {
    this.head = version;
    this.fileHash = fileHash;
    // The serving version may be an admin edit whose log settings differ from the file's the logger was made with.
    const serving = config ? { ok: true as const, config } : validateConfig(version.config);
    if (serving.ok) {
      this.serving = serving.config;
      this.#startedWith = serving.config;
      this.noteSettings(serving.config, version.version);
      this.tlsFiles = tlsFilesSeen(serving.config);
    }
    this.store.watch(
      (v) => {
        void this.serialise(() => this.adopt(v));
      },
      (head) => {
        // A store that holds this node's version or a later one has nothing to get back from it.
        if (head < this.head.version) void this.serialise(() => this.restoreStore());
      },
    );
  }

  /**
   * The shared store lost its versions (Redis restarted empty, a flush) while
   * this node serves one: it goes back in under its own number (the append's
   * numbering continues after the base it is given), so the nodes serving it
   * see nothing new, and a node that starts next finds the cluster's config
   * rather than an empty store it would seed from its own file. When another
   * node has put a version back first, the compare-and-set refuses this one
   * and the watch brings theirs. The history before it is gone.
   */
  protected async restoreStore(): Promise<void> {
    const { version, ...record } = this.head;
    try {
      const restored = await this.store.append(record, version - 1);
      this.log.warn(
        { version: restored.version },
        'the config store had lost its versions (Redis restarted empty?): stored the serving version again',
      );
    } catch (err) {
      if (err instanceof ConfigConflictError) return;
      this.log.warn(
        { version, err: (err as Error).message },
        'the config store had lost its versions; storing the ' +
          'serving version again failed (tried again on the next check)',
      );
    }
  }

  protected serialise<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * A read-modify-write on the serving version, appended only while that is
   * still the store's head. When another node appended first, its version is
   * adopted here (applied to the data plane, as the watch would) and the edit
   * redone on it, with If-Match checked again: an edit made on version N gets
   * 412 once the cluster is past N, however late this node heard of it.
   */
  protected async editNow(
    change: ConfigEdit,
    source: ConfigSource,
    note: string,
    ifMatch: number[] | undefined,
  ): Promise<EditResult> {
    for (let attempt = 1; ; attempt++) {
      const stale = this.mismatch(ifMatch);
      if (stale) return stale;
      const next = change(this.head.config);
      if ('notFound' in next) return { ok: false, notFound: next.notFound };
      const base = this.head.version;
      if (await this.changesNothing(next.config)) {
        this.log.info({ version: base, source, note }, 'config edit changed nothing; no new version');
        return { ok: true, version: this.applied(this.head) };
      }
      try {
        return await this.applyNow(next.config, source, note, this.fileHash, base);
      } catch (err) {
        if (!(err instanceof ConfigConflictError)) throw err;
        let adopted = false;
        let behind: { head: ConfigVersion; errors: ConfigError[] } | undefined;
        try {
          if (attempt < EDIT_ATTEMPTS) behind = await this.adoptStoreHead();
          adopted = attempt < EDIT_ATTEMPTS && behind === undefined;
        } finally {
          this.port.onConflict?.(adopted ? 'retried' : 'gave_up');
        }
        if (behind) {
          // This node cannot apply the cluster's head: an If-Match it makes stale is still a 412; any other edit
          // waits for this node to be fixed (or is made on another node), and the reply says why.
          if (ifMatch !== undefined && !ifMatch.includes(behind.head.version))
            return { ok: false, versionMismatch: { serving: behind.head.version } };
          return {
            ok: false,
            behind: { head: behind.head.version, serving: this.head.version, errors: behind.errors },
          };
        }
        if (!adopted) {
          this.log.warn(
            { source, note, attempts: attempt, base, head: err.head },
            'config edit not applied: other nodes kept changing the shared config first',
          );
          return { ok: false, conflict: { serving: this.head.version, attempts: attempt } };
        }
      }
    }
  }

  /**
   * An edit whose config is the serving one (a PUT of what already serves, a
   * rollback to a version with the same config) makes no version, as an
   * unchanged config file makes none; but only while this node serves the
   * store's head. When another node appended since, the edit goes the usual
   * way and is redone on that version, against which it may change something.
   */
  protected async changesNothing(config: unknown): Promise<boolean> {
    if (!isDeepStrictEqual(config, this.head.config)) return false;
    const head = await this.store.head().catch(() => undefined);
    return head?.version === this.head.version;
  }

  /** After a refused append: the store's head, adopted here; when it does not validate here, that head and why (redoing
   * the edit would only be refused again). */
  protected async adoptStoreHead(): Promise<{ head: ConfigVersion; errors: ConfigError[] } | undefined> {
    const head = await fromStore(
      this.store.head(),
      'the config store did not answer after another node changed the config: nothing was changed; retry once it does',
    );
    if (!head) return undefined;
    const errors = await this.adopt(head);
    return errors ? { head, errors } : undefined;
  }

  /** If-Match: the edit was made on versions of which none serves any more (checked in the queue, where the head cannot
   * move). */
  protected mismatch(ifMatch: number[] | undefined): EditResult | undefined {
    if (ifMatch === undefined || ifMatch.includes(this.head.version)) return undefined;
    // The version this node refused is the cluster's (an ETag read on another node): the edit then finds out it is
    // behind.
    if (this.refused !== undefined && ifMatch.includes(this.refused.version)) return undefined;
    return { ok: false, versionMismatch: { serving: this.head.version } };
  }

  /** `base`: the version `raw` was made on (refused once another node moved past it); `validated`: validateConfig's
   * result for `raw`. */
  protected async applyNow(
    raw: unknown,
    source: ConfigSource,
    note: string,
    fileHash: string,
    base?: number,
    validated?: LoadResult,
  ): Promise<ApplyResult> {
    const result = validated ?? (await this.validateChange(raw));
    if (!result.ok) {
      this.port.onReload?.('invalid');
      this.log.warn({ source, errors: result.errors }, 'config rejected; the previous config keeps serving');
      return { ok: false, errors: result.errors };
    }
    let version: ConfigVersion;
    try {
      version = await this.store.append(
        { config: raw as RawConfig, source, createdAt: new Date().toISOString(), fileHash, note },
        base,
      );
    } catch (err) {
      if (err instanceof ConfigConflictError) throw err;
      // Nothing is applied that the store does not hold: a restart or another node would not know it.
      this.port.onReload?.('error');
      this.log.error(
        { source, note, err: (err as Error).message },
        'config not applied: the config store could not save it; the previous config keeps serving',
      );
      // A Redis store may have kept a version whose reply timed out: the watch then brings it to every node.
      throw new StoreUnavailableError(
        'the config store did not confirm the save, so the change is not applied (should ' +
          'the store have kept it, every node adopts it once it answers): retry once it does',
        err,
      );
    }
    // An admin edit is answered once every worker serves it: a request sent after the reply sees the change.
    await this.serve(result.config, version);
    this.log.info({ version: version.version, source, note }, 'config applied');
    return { ok: true, version: this.applied(version) };
  }

  /** The config the process started with: what its restart-only settings are read from. */
  #startedWith: Config | undefined;
  /** The serving config's restart-only settings other than the started config's. */
  #restartPending: string[] = [];

  restartPending(): string[] {
    return [...this.#restartPending];
  }

  /** `version` as an apply answers it, with the settings that wait for a restart. */
  private applied(version: ConfigVersion): AppliedVersion {
    const pending = this.#restartPending;
    return { ...summary(version), ...(pending.length > 0 ? { restartPending: [...pending] } : {}) };
  }

  /** Another node moved the shared head: apply it here without appending. Returns why not when it does not validate
   * here. */
  protected async adopt(v: ConfigVersion): Promise<ConfigError[] | undefined> {
    if (v.version <= this.head.version) return undefined;
    const result = await this.validateChange(v.config);
    if (!result.ok) {
      if (v.version > (this.refused?.version ?? 0)) this.refused = v;
      this.port.onReload?.('invalid');
      this.log.error(
        { version: v.version, errors: result.errors },
        'shared config version rejected here; the previous config keeps serving ' +
          'until this node can apply it (its TLS files change, SIGHUP, or a newer version)',
      );
      return result.errors;
    }
    if (this.refused && this.refused.version <= v.version) this.refused = undefined;
    await this.serve(result.config, v);
    this.log.info({ version: v.version, source: v.source }, 'config adopted from the shared store');
  }

  protected validateChange(raw: unknown): Promise<LoadResult> {
    return validateChange(raw, this.serving && { raw: this.head.config, config: this.serving }, this.log);
  }

  /** Every apply (an append here, a version adopted, renewed TLS files): the data plane gets it, and once it serves it,
   * so does this node. */
  protected async serve(config: Config, version: ConfigVersion): Promise<void> {
    await this.port.apply(config, version.version);
    this.head = version;
    this.serving = config;
    this.tlsFiles = tlsFilesSeen(config);
    this.#startedWith ??= config;
    this.#restartPending = restartPending(this.#startedWith, config);
    this.port.onRestartPending?.(this.#restartPending.length);
    this.noteSettings(config, version.version);
    for (const served of this.#served) served(config);
    this.port.onReload?.('ok');
  }

  /** The version whose exposed settings were last said: its TLS files re-read, it is not said again. */
  #exposedSaid = -1;

  /** A config now served: its log settings applied, and settings open to whoever is on the path said at warn. */
  private noteSettings(config: Config, version: number): void {
    this.logSettings.apply(config.log);
    if (version === this.#exposedSaid) return;
    this.#exposedSaid = version;
    if (this.#restartPending.length > 0)
      this.log.warn(
        { version, settings: this.#restartPending },
        'config applied; these settings differ from those the gateway started with and take effect on restart',
      );
    const exposed = exposedSettings(config);
    if (exposed.length > 0)
      this.log.warn({ version, exposed }, 'config applied with settings open to whoever is on the path');
  }

  readonly #served: ((config: Config) => void)[] = [];

  /** Calls `fn` with each config from now on, once this node serves it (the admin listener's TLS follows it). */
  onServe(fn: (config: Config) => void): void {
    this.#served.push(fn);
  }
}

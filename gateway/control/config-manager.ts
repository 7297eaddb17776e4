import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config/schema.ts';
import { readConfigFile, validateConfig, type LoadResult } from './config/load.ts';
import { loadOffThread, validateOffThread } from './config/load-off-thread.ts';
import { validateChange } from './config/validate-edit.ts';
import type { Logger } from '../log.ts';
import { sha256 } from './file-hash.ts';
import { editsReplacedBy } from './file-history.ts';
import { tlsFilesChanged, tlsFilesSeen, tlsFilesUnchanged, type TlsFilesSeen } from '../proxy/upstream/tls-files.ts';
import { LogSettings } from './log-settings.ts';
import { ConfigConflictError, EDIT_ATTEMPTS } from './store/conflict.ts';
import { fromStore, StoreUnavailableError } from '../errors.ts';
import type {
  ApplyResult,
  ConfigEdit,
  ConfigError,
  ConfigSource,
  ConfigStore,
  ConfigVersion,
  ConfigVersionSummary,
  ControlPlane,
  DataPlanePort,
  EditResult,
  RawConfig,
  UpstreamHealth,
} from './types.ts';

export type { DataPlanePort };

export { sha256 };

const summary = ({ config: _c, ...rest }: ConfigVersion): ConfigVersionSummary => rest;

/**
 * Owns the config lifecycle: the file, the store (history, admin edits, other
 * nodes' changes) and pushing validated configs to the data plane. Applies
 * are serialised, so two admin edits never interleave on this node; across
 * nodes an edit is appended only while the version it was made on is still
 * the store's head (compare-and-set), else redone on the newer head. An
 * invalid config is rejected whole with the path of every error and the old
 * one keeps serving.
 */
export class ConfigManager implements ControlPlane {
  private readonly file: string;
  private readonly store: ConfigStore;
  private readonly port: DataPlanePort;
  private readonly log: Logger;
  private head!: ConfigVersion;
  /** The head's config as validated and served: an edit of it is validated by what it changes (validateChange). */
  private serving: Config | undefined;
  /** Applies the serving config's log settings (with defaults and env overrides) to `log`. */
  private readonly logSettings: LogSettings;
  private fileHash = '';
  /** The upstreams' TLS files the data plane was given: a reload of an unchanged config file compares them. */
  private tlsFiles: TlsFilesSeen = { texts: new Map() };
  /** The newest shared version this node could not validate (a TLS file it lacks, say): adopted as soon as its files
   * change or on SIGHUP. */
  private refused: ConfigVersion | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private isReady = false;

  constructor(opts: { file: string; store: ConfigStore; port: DataPlanePort; log: Logger }) {
    this.file = opts.file;
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
      this.logSettings.apply(serving.config.log);
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
  private async restoreStore(): Promise<void> {
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

  setReady(ready: boolean): void {
    this.isReady = ready;
  }

  ready(): boolean {
    return this.isReady;
  }

  current(): ConfigVersion {
    return this.head;
  }

  async validate(raw: unknown): Promise<ConfigError[]> {
    const r = await validateOffThread(raw, { log: this.log });
    return r.ok ? [] : r.errors;
  }

  apply(raw: unknown, source: ConfigSource, note: string): Promise<ApplyResult> {
    return this.serialise(() => this.applyNow(raw, source, note, this.fileHash));
  }

  edit(change: ConfigEdit, note: string, ifMatch?: number[]): Promise<EditResult> {
    return this.serialise(() => this.editNow(change, 'admin', note, ifMatch));
  }

  /**
   * Re-reads the config file (SIGHUP, file change, admin reload), or takes
   * `text` the watcher already read and found settled. An unchanged file makes
   * no new version; the upstreams' TLS files are still read again (rereadTlsFiles).
   * A large file is parsed and validated on a worker thread (loadOffThread).
   */
  reloadFromFile(text?: string): Promise<ApplyResult> {
    return this.serialise(async () => {
      if (this.refused) await this.adopt(this.refused);
      const read = text === undefined ? readConfigFile(this.file) : { ok: true as const, text };
      const loaded = read.ok
        ? await loadOffThread(this.file, read.text, { log: this.log, unchangedHash: this.fileHash })
        : read;
      // Only what the file says counts: a comment or reformatting is no new version and keeps admin edits.
      if ('unchanged' in loaded) return this.rereadTlsFiles();
      if (!loaded.ok || !loaded.raw || loaded.text === undefined) {
        this.port.onReload?.('invalid');
        this.log.error(
          { file: this.file, errors: loaded.ok ? [] : loaded.errors },
          'config file rejected; the previous config keeps serving',
        );
        return { ok: false, errors: loaded.ok ? [] : loaded.errors } as ApplyResult;
      }
      const { hash } = loaded;
      const before = this.head;
      let result: ApplyResult;
      try {
        result = await this.applyNow(loaded.raw, 'reload', `reloaded ${this.file}`, hash, undefined, loaded);
      } catch (err) {
        const cause = ((err as Error).cause ?? err) as Error;
        return { ok: false, errors: [{ path: '', message: `the config store could not save it: ${cause.message}` }] };
      }
      // Only an applied file counts as seen, so the next reload (SIGHUP, watcher, admin) tries a failed one again.
      if (!result.ok) return result;
      this.fileHash = hash;
      const { edits, more } = await editsReplacedBy(this.store, result.version.version, before);
      if (edits.length > 0) {
        this.log.warn(
          {
            file: this.file,
            version: result.version.version,
            replaced_edits: more ? `${edits.length}+` : edits.length,
            replaced: edits.slice(0, 20).map((v) => `${v.version} ${v.source}: ${v.note}`),
          },
          'config file applied over admin edits made since it was last applied; they no longer serve (the file wins)',
        );
      }
      return result;
    });
  }

  /**
   * A reload of an unchanged config file re-reads the upstreams' TLS files of
   * the serving version, as nginx re-reads its certificates on a reload: a
   * renewed CA bundle or client certificate takes effect on SIGHUP without a
   * config change. New content is checked as at an apply (the old keeps serving
   * when it is refused) and applied under the same version number, which
   * rebuilds only the pools of the upstreams whose files changed.
   */
  private async rereadTlsFiles(): Promise<ApplyResult> {
    if (tlsFilesUnchanged(this.tlsFiles)) return { ok: true, version: summary(this.head) };
    const result = await validateOffThread(this.head.config, { log: this.log });
    if (!result.ok) {
      this.port.onReload?.('invalid');
      this.log.error(
        { version: this.head.version, errors: result.errors },
        'upstream TLS files rejected on re-read; the previous ones keep serving',
      );
      return { ok: false, errors: result.errors };
    }
    if (tlsFilesChanged(this.tlsFiles, tlsFilesSeen(result.config))) {
      await this.serve(result.config, this.head);
      this.log.info(
        { version: this.head.version },
        'upstream TLS files changed on disk: their upstreams now use the new ones',
      );
    }
    return { ok: true, version: summary(this.head) };
  }

  /** Re-reads the serving config's upstream TLS files only (the TLS file watch): the config file is not read. */
  reloadTlsFiles(): Promise<ApplyResult> {
    return this.serialise(async () => {
      if (this.refused) await this.adopt(this.refused);
      return this.rereadTlsFiles();
    });
  }

  /** The config of the shared version this node refused, if any: the TLS file watch watches its files too. */
  refusedConfig(): RawConfig | undefined {
    return this.refused?.config;
  }

  history(limit: number): Promise<ConfigVersionSummary[]> {
    return fromStore(
      this.store.list(limit),
      'the config store did not answer, so the history could not be read: retry once it does',
    );
  }

  async rollback(version: number, ifMatch?: number[]): Promise<EditResult | undefined> {
    const v = await fromStore(
      this.store.get(version),
      `the config store did not answer, so version ${version} ` +
        `could not be read: nothing was changed; retry once it does`,
    );
    if (!v) return undefined;
    // Like PUT /config with the old version's config: If-Match holds against the cluster's head, not this node's.
    return this.serialise(() =>
      this.editNow(() => ({ config: v.config }), 'rollback', `rollback to ${version}`, ifMatch),
    );
  }

  /**
   * A read-modify-write on the serving version, appended only while that is
   * still the store's head. When another node appended first, its version is
   * adopted here (applied to the data plane, as the watch would) and the edit
   * redone on it, with If-Match checked again: an edit made on version N gets
   * 412 once the cluster is past N, however late this node heard of it.
   */
  private async editNow(
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
        return { ok: true, version: summary(this.head) };
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
  private async changesNothing(config: unknown): Promise<boolean> {
    if (!isDeepStrictEqual(config, this.head.config)) return false;
    const head = await this.store.head().catch(() => undefined);
    return head?.version === this.head.version;
  }

  /** After a refused append: the store's head, adopted here; when it does not validate here, that head and why (redoing
   * the edit would only be refused again). */
  private async adoptStoreHead(): Promise<{ head: ConfigVersion; errors: ConfigError[] } | undefined> {
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
  private mismatch(ifMatch: number[] | undefined): EditResult | undefined {
    if (ifMatch === undefined || ifMatch.includes(this.head.version)) return undefined;
    // The version this node refused is the cluster's (an ETag read on another node): the edit then finds out it is
    // behind.
    if (this.refused !== undefined && ifMatch.includes(this.refused.version)) return undefined;
    return { ok: false, versionMismatch: { serving: this.head.version } };
  }

  health(): UpstreamHealth[] {
    return this.port.health();
  }

  metrics(): Promise<{ contentType: string; body: string }> {
    return this.port.metrics();
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** `base`: the version `raw` was made on (refused once another node moved past it); `validated`: validateConfig's
   * result for `raw`. */
  private async applyNow(
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
    return { ok: true, version: summary(version) };
  }

  /** Another node moved the shared head: apply it here without appending. Returns why not when it does not validate
   * here. */
  private async adopt(v: ConfigVersion): Promise<ConfigError[] | undefined> {
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

  private validateChange(raw: unknown): Promise<LoadResult> {
    return validateChange(raw, this.serving && { raw: this.head.config, config: this.serving }, this.log);
  }

  /** Every apply (an append here, a version adopted, renewed TLS files): the data plane gets it, and once it serves it,
   * so does this node. */
  private async serve(config: Config, version: ConfigVersion): Promise<void> {
    await this.port.apply(config, version.version);
    this.head = version;
    this.serving = config;
    this.tlsFiles = tlsFilesSeen(config);
    this.logSettings.apply(config.log);
    this.port.onReload?.('ok');
  }
}

import { type CertificateReport, certificateReport } from '../proxy/listeners/certificate-report.ts';
import type { Logger } from '../log.ts';
import { readConfigFile } from './config/load.ts';
import { loadOffThread, validateOffThread } from './config/load-off-thread.ts';
import { ConfigVersions, summary } from './config-versions.ts';
import { sha256 } from './file-hash.ts';
import { editsReplacedBy } from './file-history.ts';
import { tlsFilesChanged, tlsFilesSeen, tlsFilesUnchanged } from '../proxy/upstream/tls-files.ts';
import { fromStore } from '../errors.ts';
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

/**
 * Owns the config lifecycle: the file, the store (history, admin edits, other
 * nodes' changes) and pushing validated configs to the data plane. Applies
 * are serialised, so two admin edits never interleave on this node; across
 * nodes an edit is appended only while the version it was made on is still
 * the store's head (compare-and-set), else redone on the newer head. An
 * invalid config is rejected whole with the path of every error and the old
 * one keeps serving.
 */
export class ConfigManager extends ConfigVersions implements ControlPlane {
  private readonly file: string;
  private isReady = false;

  constructor(opts: { file: string; store: ConfigStore; port: DataPlanePort; log: Logger }) {
    super(opts);
    this.file = opts.file;
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
   * A reload of an unchanged config file re-reads the TLS files (upstreams' and listeners') of
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
        'TLS files rejected on re-read; the previous ones keep serving',
      );
      return { ok: false, errors: result.errors };
    }
    if (tlsFilesChanged(this.tlsFiles, tlsFilesSeen(result.config))) {
      await this.serve(result.config, this.head);
      this.log.info(
        { version: this.head.version },
        'TLS files changed on disk: their upstreams and listeners now use the new ones',
      );
    }
    return { ok: true, version: summary(this.head) };
  }

  /** Re-reads the serving config's TLS files only (the TLS file watch): the config file is not read. */
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

  version(version: number): Promise<ConfigVersion | undefined> {
    return fromStore(
      this.store.get(version),
      `the config store did not answer, so version ${version} could not be read: retry once it does`,
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

  certificates(): CertificateReport[] {
    return this.serving ? certificateReport(this.serving) : [];
  }

  health(): UpstreamHealth[] {
    return this.port.health();
  }

  metrics(openMetrics = false): Promise<{ contentType: string; body: string }> {
    return this.port.metrics(openMetrics);
  }
}

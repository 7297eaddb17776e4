/**
 * What etcd and Consul discovery share: a loop that syncs with the registry (a read, then a watch or a blocking
 * query) and, when the registry fails, keeps the last good targets (stale), retries with capped exponential backoff
 * and says so through its status, its onState hook and the log. A sync emits the whole list; the list is passed on
 * only when it differs from the last one (source.ts's contract).
 */
import { sleep } from '../../../../shared/sleep.ts';
import type { DiscoveredTarget, DiscoveryStatus, TargetSource, TargetsListener } from './source.ts';

export interface RegistryHooks {
  /** Every failed sync; the last good list stays in use. */
  onError?: (err: Error) => void;
  /** The first good sync after a failure (and the first of all). */
  onOk?: () => void;
  /** Stale (true) from a failure until the next good sync, and how many targets are in use. */
  onState?: (stale: boolean, targets: number) => void;
}

/** One run of a registry's protocol: `emit` each full list it learns, resolve or throw when the session ends. */
export type SyncSession = (emit: (targets: DiscoveredTarget[]) => void, signal: AbortSignal) => Promise<void>;

const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 5000;

export class RegistrySource implements TargetSource {
  readonly #kind: DiscoveryStatus['source'];
  readonly #session: SyncSession;
  readonly #hooks: RegistryHooks;
  readonly #cleanup: (() => void) | undefined;
  #onTargets: TargetsListener | undefined;
  #abort: AbortController | undefined;
  #lastKey: string | undefined;
  #targets = 0;
  #state: DiscoveryStatus['state'] = 'connecting';
  #lastSync: number | undefined;
  #lastError: string | undefined;
  #staleSince: number | undefined;
  #skipped: Array<{ entry: string; reason: string }> = [];

  /** `cleanup` runs at stop(), after the session is aborted (closing the source's connections). */
  constructor(kind: DiscoveryStatus['source'], session: SyncSession, hooks: RegistryHooks = {}, cleanup?: () => void) {
    this.#kind = kind;
    this.#session = session;
    this.#hooks = hooks;
    this.#cleanup = cleanup;
  }

  /** A list known from before (the pool this one replaces, with the same registry): used until the first sync. */
  seed(targets: DiscoveredTarget[], onTargets: TargetsListener): void {
    if (targets.length === 0) return;
    this.#lastKey = keyOf(targets);
    this.#targets = targets.length;
    onTargets(targets);
  }

  start(onTargets: TargetsListener): void {
    if (this.#onTargets !== undefined) return;
    this.#onTargets = onTargets;
    this.#abort = new AbortController();
    void this.#loop(this.#abort.signal);
  }

  stop(): void {
    this.#onTargets = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
    this.#cleanup?.();
  }

  /** Entries the registry holds that are not targets (bad JSON, no url), with why; replaced at each sync. */
  set skipped(list: Array<{ entry: string; reason: string }>) {
    this.#skipped = list;
  }

  status(): DiscoveryStatus {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return {
      source: this.#kind,
      state: this.#state,
      targets: this.#targets,
      last_sync: iso(this.#lastSync),
      stale_since: iso(this.#staleSince),
      last_error: this.#lastError,
      skipped: this.#skipped,
    };
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let backoff = BACKOFF_FIRST_MS;
    while (!signal.aborted) {
      let synced = false;
      const startedMs = Date.now();
      const emit = (targets: DiscoveredTarget[]) => {
        if (signal.aborted) return;
        if (!synced) {
          synced = true;
          this.#synced();
        }
        this.#lastSync = Date.now();
        this.#emitIfChanged(targets);
      };
      // Each session's own signal ends with it, so what it opened on that signal (its connections) closes too.
      const ended = new AbortController();
      try {
        await this.#session(emit, AbortSignal.any([signal, ended.signal]));
        if (signal.aborted) return;
        throw new Error(`the ${this.#kind} session ended`);
      } catch (err) {
        if (signal.aborted) return;
        this.#failed(err instanceof Error ? err : new Error(String(err)));
      } finally {
        ended.abort();
      }
      // A session that lasted starts the backoff over; one that fails as soon as it syncs (a flapping registry) does
      // not, so it is not asked again every 200 ms.
      if (synced && Date.now() - startedMs > BACKOFF_MAX_MS) backoff = BACKOFF_FIRST_MS;
      // Full jitter on a capped exponential backoff: gateways do not come back to a restarted registry in step.
      await sleep(backoff / 2 + Math.random() * (backoff / 2), signal);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  #synced(): void {
    const wasHealthy = this.#state === 'synced';
    this.#state = 'synced';
    this.#staleSince = undefined;
    this.#lastError = undefined;
    if (!wasHealthy) this.#hooks.onOk?.();
    this.#hooks.onState?.(false, this.#targets);
  }

  #failed(err: Error): void {
    this.#lastError = err.message;
    if (this.#state !== 'stale') {
      this.#state = 'stale';
      this.#staleSince = Date.now();
      this.#hooks.onState?.(true, this.#targets);
    }
    this.#hooks.onError?.(err);
  }

  #emitIfChanged(targets: DiscoveredTarget[]): void {
    const key = keyOf(targets);
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    this.#targets = targets.length;
    this.#hooks.onState?.(false, targets.length);
    this.#onTargets?.(targets);
  }
}

function keyOf(targets: DiscoveredTarget[]): string {
  return targets.map((t) => `${t.origin}*${t.weight}`).join(' ');
}

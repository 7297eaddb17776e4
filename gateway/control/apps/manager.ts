import { randomBytes } from 'node:crypto';
import type { TokensConfig } from '../../proxy/stages/token-endpoint/schema.ts';
import type { Logger } from '../../log.ts';
import { fromStore } from '../../errors.ts';
import { MAX_APPS, identityDocOf, type AppStore, type IdentityDoc, type StoredKey } from './doc.ts';
import { wireOf, type IdentityWire } from './identity.ts';
import { currentKey, generateSigningKey, rotateKeys } from './keys.ts';
import { generateSecret, hashSecret } from './secret.ts';
import type { App } from './types.ts';
import {
  AppError,
  fields,
  found,
  PART_NAME,
  partVersion,
  type AppInput,
  type Change,
  type IdentityPart,
  type Saved,
} from './changes.ts';

export { AppError, type AppInput, type IdentityPart, type Saved } from './changes.ts';

const CAS_ATTEMPTS = 8;
/** Retired public keys stay in JWKS this much longer than the token lifetime (clock skew, slow clients). */
const KEY_GRACE_MS = 60_000;

/**
 * The control plane's side of tenants: app records and signing keys in the
 * AppStore, every change pushed whole to the data plane(s) as an
 * IdentityWire. Runs in the single process or the cluster primary. Edits are
 * serialised here and compare-and-set in the store, so two nodes editing at
 * once both land; a change saved by another node is reloaded and pushed.
 */
export class IdentityManager {
  readonly #store: AppStore;
  readonly #push: (wire: IdentityWire) => void;
  readonly #tokens: () => TokensConfig;
  readonly #log: Logger;
  #doc: IdentityDoc = identityDocOf(0, {});
  #wire: IdentityWire = wireOf(this.#doc);
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: { store: AppStore; push: (wire: IdentityWire) => void; tokens: () => TokensConfig; log: Logger }) {
    this.#store = opts.store;
    this.#push = opts.push;
    this.#tokens = opts.tokens;
    this.#log = opts.log;
  }

  /** Loads, makes sure a signing key exists, pushes, and follows other nodes' changes and the rotation schedule. */
  async start(): Promise<void> {
    this.#adopt(await this.#store.load());
    await this.#rotateIfDue();
    this.#store.watch(
      () => {
        void this.#serialise(async () => this.#adopt(await this.#store.load())).catch((err) =>
          this.#log.warn({ err: (err as Error).message }, 'app store reload failed'),
        );
      },
      (stored) => {
        // A store that holds this node's version or a later one has nothing to get back from it.
        if (stored >= this.#doc.version) return;
        void this.#serialise(() => this.#restoreStore()).catch((err) =>
          this.#log.warn(
            { err: (err as Error).message },
            'the app store had lost its data; storing the served ' +
              'apps and keys again failed (tried again on the next check)',
          ),
        );
      },
    );
    const rotationMs = this.#tokens().key_rotation_s * 1000;
    const everyMs = Math.min(60_000, Math.max(1000, Math.floor((rotationMs || 600_000) / 10)));
    this.#timer = setInterval(() => {
      void this.#rotateIfDue().catch((err) =>
        this.#log.warn({ err: (err as Error).message }, 'scheduled key rotation failed'),
      );
    }, everyMs);
    this.#timer.unref();
  }

  /** What a newly started data plane (a fresh worker) is given. */
  wire(): IdentityWire {
    return this.#wire;
  }

  list(): App[] {
    return this.#doc.apps;
  }

  get(id: string): App | undefined {
    return this.#doc.apps.find((a) => a.id === id);
  }

  keys(): StoredKey[] {
    return this.#doc.keys;
  }

  /** The version of the apps served, moved by every change of an app on any node (the admin API's apps ETag); a key
   * rotation leaves it. */
  appsVersion(): number {
    return this.#doc.appsVersion;
  }

  /** The version of the signing keys served, moved by every rotation on any node (the keys ETag); an app change leaves
   * it. */
  keysVersion(): number {
    return this.#doc.keysVersion;
  }

  /**
   * Every change takes `ifMatch`, the versions (If-Match) it was based on: it
   * is refused (AppError version_mismatch, nothing saved) unless one of them
   * is still the stored version of the part it changes (apps, or keys for
   * rotateKeys), checked again after each lost race.
   */
  async create(
    input: AppInput,
    id = `app_${randomBytes(8).toString('hex')}`,
    ifMatch?: number[],
  ): Promise<Saved<{ app: App; secret: string }>> {
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    const { result: app, version } = await this.#mutate<App>(
      'apps',
      (doc) => {
        if (doc.apps.some((a) => a.id === id)) throw new AppError('exists', `an app with id "${id}" already exists`);
        if (doc.apps.length >= MAX_APPS) throw new AppError('full', `at most ${MAX_APPS} apps`);
        const now = Date.now();
        const created = { ...fields(input), id, secrets: [{ hash, createdAt: now }], createdAt: now, updatedAt: now };
        return { doc: { ...doc, apps: [...doc.apps, created] }, result: created };
      },
      ifMatch,
    );
    return { app, secret, version };
  }

  async update(id: string, input: AppInput, ifMatch?: number[]): Promise<Saved<{ app: App }>> {
    const { result: app, version } = await this.#mutate<App>(
      'apps',
      (doc) => {
        const old = found(doc, id);
        const app: App = { ...old, ...fields(input), updatedAt: Date.now() };
        return { doc: { ...doc, apps: doc.apps.map((a) => (a.id === id ? app : a)) }, result: app };
      },
      ifMatch,
    );
    return { app, version };
  }

  async remove(id: string, ifMatch?: number[]): Promise<Saved<object>> {
    const { version } = await this.#mutate<void>(
      'apps',
      (doc) => {
        found(doc, id);
        return { doc: { ...doc, apps: doc.apps.filter((a) => a.id !== id) }, result: undefined };
      },
      ifMatch,
    );
    return { version };
  }

  /** A new secret; the ones before it keep working for `overlapS` seconds (expired ones are dropped). */
  async rotateSecret(
    id: string,
    overlapS = this.#tokens().secret_overlap_s,
    ifMatch?: number[],
  ): Promise<Saved<{ app: App; secret: string }>> {
    // A 404 before hashing a secret for nothing; a stale If-Match is answered first (412), as for the other writes.
    if (ifMatch === undefined || ifMatch.includes(this.#doc.appsVersion)) found(this.#doc, id);
    const secret = generateSecret();
    const hash = await hashSecret(secret);
    const { result: app, version } = await this.#mutate<App>(
      'apps',
      (doc) => {
        const old = found(doc, id);
        const now = Date.now();
        const until = now + overlapS * 1000;
        const kept = old.secrets
          .filter((s) => s.expiresAt === undefined || s.expiresAt > now)
          .map((s) => ({ ...s, expiresAt: Math.min(s.expiresAt ?? until, until) }))
          .filter((s) => s.expiresAt > now);
        const app: App = { ...old, secrets: [...kept, { hash, createdAt: now }], updatedAt: now };
        return { doc: { ...doc, apps: doc.apps.map((a) => (a.id === id ? app : a)) }, result: app };
      },
      ifMatch,
    );
    return { app, secret, version };
  }

  /**
   * A new signing key becomes current; the previous public keys stay until tokens they signed have expired, or with
   * `revokePrevious` are dropped at once. `ifMatch`: keys versions.
   */
  async rotateKeys(ifMatch?: number[], revokePrevious = false): Promise<Saved<{ key: StoredKey }>> {
    const next = await generateSigningKey(this.#tokens().algorithm, Date.now());
    const { result: key, version } = await this.#mutate<StoredKey>(
      'keys',
      (doc) => {
        const keys = revokePrevious ? [next] : rotateKeys(doc.keys, next, Date.now(), this.#keepMs());
        return { doc: { ...doc, keys }, result: next };
      },
      ifMatch,
    );
    return { key, version };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#queue.catch(() => undefined);
    await this.#store.close();
  }

  #keepMs(): number {
    return this.#tokens().ttl_s * 1000 + KEY_GRACE_MS;
  }

  /** No key yet, the configured algorithm changed, or the key is older than key_rotation_s. */
  async #rotateIfDue(): Promise<void> {
    const due = () => {
      const t = this.#tokens();
      const k = currentKey(this.#doc.keys);
      return (
        !k || k.alg !== t.algorithm || (t.key_rotation_s > 0 && Date.now() - k.createdAt >= t.key_rotation_s * 1000)
      );
    };
    if (!due()) return;
    const next = await generateSigningKey(this.#tokens().algorithm, Date.now());
    // Another node may have rotated meanwhile: the check is repeated on the doc the save is based on.
    await this.#mutate<void>('keys', (doc) => {
      this.#adopt(doc);
      return due()
        ? { doc: { ...doc, keys: rotateKeys(doc.keys, next, Date.now(), this.#keepMs()) }, result: undefined }
        : undefined;
    });
  }

  /**
   * A read-modify-write of the doc, saved only while the stored version is
   * the one it was made on (compare-and-set); a lost race reloads the doc and
   * redoes the change on it, If-Match checked again, as config edits do.
   * If-Match is compared with `part`'s version, so a race lost to a change of
   * the other part is redone, not refused. Returns `part`'s version.
   */
  #mutate<T>(
    part: IdentityPart,
    change: (doc: IdentityDoc) => Change<T>,
    ifMatch?: number[],
  ): Promise<{ result: T; version: number }> {
    return this.#serialise(async () => {
      let doc = this.#doc;
      for (let i = 0; i < CAS_ATTEMPTS; i++) {
        if (ifMatch !== undefined && !ifMatch.includes(partVersion(doc, part))) {
          // The newer doc a lost race loaded serves here from now on, so the 412's ETag is what a GET now shows.
          this.#adopt(doc);
          const at = partVersion(doc, part);
          throw new AppError(
            'version_mismatch',
            `${PART_NAME[part]} at version ${at}, not the one in ` +
              `If-Match: read them again and redo the change; nothing was changed`,
            at,
          );
        }
        const c = change(doc);
        if (!c) return { result: undefined as T, version: partVersion(doc, part) };
        const next = doc.version + 1;
        const saved = await fromStore(
          this.#store.save(
            {
              apps: c.doc.apps,
              keys: c.doc.keys,
              appsVersion: c.doc.apps === doc.apps ? doc.appsVersion : next,
              keysVersion: c.doc.keys === doc.keys ? doc.keysVersion : next,
            },
            doc.version,
          ),
          'the app store did not confirm the save, so the change is not applied (should ' +
            'the store have kept it, every node adopts it once it answers): retry once it does',
        );
        if (saved) {
          this.#adopt(saved);
          return { result: c.result, version: partVersion(saved, part) };
        }
        doc = await fromStore(
          this.#store.load(),
          'the app store did not answer after another node changed ' +
            'the apps or keys: nothing was changed; retry once it does',
        );
      }
      this.#adopt(doc);
      throw new AppError(
        'conflict',
        `other gateway nodes changed the apps or signing keys first on ` +
          `each of ${CAS_ATTEMPTS} tries; nothing was changed: retry the change`,
        partVersion(this.#doc, part),
      );
    });
  }

  /**
   * The shared store lost its data (Redis restarted empty, a flush) while
   * this node serves apps and keys: they go back in, after this node's
   * version, with their apps and keys versions (the ETags) as they were, so a
   * node that starts next finds them instead of an empty store. When another
   * node has put its doc back first, the compare-and-set refuses this one and
   * the watch brings theirs.
   */
  async #restoreStore(): Promise<void> {
    const doc = this.#doc;
    const saved = await this.#store.save(
      { apps: doc.apps, keys: doc.keys, appsVersion: doc.appsVersion, keysVersion: doc.keysVersion },
      doc.version,
    );
    if (!saved) return;
    this.#adopt(saved);
    this.#log.warn(
      { version: saved.version, apps: doc.apps.length },
      'the app store had lost its data (Redis restarted empty?): stored the served apps and keys again',
    );
  }

  #serialise<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(fn);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #adopt(doc: IdentityDoc): void {
    if (doc.version < this.#doc.version || doc === this.#doc) return;
    this.#doc = doc;
    this.#wire = wireOf(doc);
    this.#push(this.#wire);
  }
}

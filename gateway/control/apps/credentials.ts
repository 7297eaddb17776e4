import { createHash, randomBytes } from 'node:crypto';
import { Lru } from '../../proxy/lru.ts';
import { hashSecret, matchSecret, secretExpiry, verifySecret } from './secret.ts';
import type { Identity } from './types.ts';

export interface Verified {
  appId: string;
  /** The stored hash the secret matched, and when it stops working (rotated out). */
  hash: string;
  expiresAt: number;
  /** Identity version this was last checked against. */
  version: number;
}

/** Concurrent scrypt verifications per process; more are refused, so guessing cannot queue unbounded CPU work. */
export const MAX_PENDING_VERIFICATIONS = 32;
/**
 * ... and per client address (an IPv6 /64), so one address flooding guessed keys holds a quarter of them at most
 * and the others' first requests are still checked.
 */
export const MAX_PENDING_PER_CLIENT = 8;

/**
 * What a credential not checked before gets while that many run (a flood of guessed keys): 503 GW_ERR_AUTH_BUSY and
 * a retry, where a 401 would tell its holder that it is wrong.
 */
export const RETRY_SOON = { 'retry-after': '1' };

let decoy: Promise<string> | undefined;
/** A hash no secret matches (its secret is thrown away), made once per process. */
function decoyHash(): Promise<string> {
  decoy ??= hashSecret(randomBytes(32).toString('base64url'));
  return decoy;
}

/**
 * App id + secret checks for the token endpoint and API keys. scrypt is slow
 * on purpose, so a success is remembered under a sha256 of the credentials
 * (never the secret itself) until the secret expires; an identity change
 * re-checks the entry against the new app record, so a rotated-out, disabled
 * or deleted app stops matching at once.
 */
export class CredentialCache {
  readonly lru: Lru<string, Verified>;
  pending = 0;
  /** Verifications running per client (its address key), for MAX_PENDING_PER_CLIENT; absent at 0. */
  readonly #perClient = new Map<string, number>();
  /** Verifications running per credentials (their cache key): the same ones at once share one scrypt and slot. */
  readonly #running = new Map<string, Promise<Verified | undefined>>();

  constructor(max: number) {
    this.lru = new Lru(max);
  }

  static key(appId: string, secret: string): string {
    return createHash('sha256').update(appId).update('.').update(secret).digest('base64url');
  }

  /**
   * Synchronous: the entry when these credentials were verified before and still hold (its `expiresAt` as of the
   * identity now), else undefined.
   */
  hit(identity: Identity, key: string, nowMs: number): Verified | undefined {
    const e = this.lru.get(key);
    if (e === undefined) return undefined;
    const app = identity.apps.get(e.appId);
    if (app === undefined) {
      this.lru.delete(key);
      return undefined;
    }
    if (e.version !== identity.version) {
      // A rotation may have given this secret an expiry, or removed it.
      e.expiresAt = secretExpiry(app, e.hash) ?? 0;
      e.version = identity.version;
    }
    if (e.expiresAt <= nowMs) {
      this.lru.delete(key);
      return undefined;
    }
    return e;
  }

  /**
   * scrypt against the app's live secrets; 'busy' when too many verifications are already running, in all or for
   * `client` (an address key, net/ip.ts clientKey). The same credentials checked at once (a client's first burst)
   * wait for one verification. What it finds holds as of the identity once scrypt is done (`identity()` then: a
   * secret rotated out or an app deleted meanwhile is no match), as `hit` would answer.
   */
  verify(
    identity: () => Identity,
    appId: string,
    secret: string,
    key: string,
    client?: string,
  ): Promise<Verified | undefined | 'busy'> {
    const running = this.#running.get(key);
    if (running !== undefined) return running;
    const mine = client === undefined ? 0 : (this.#perClient.get(client) ?? 0);
    if (this.pending >= MAX_PENDING_VERIFICATIONS || mine >= MAX_PENDING_PER_CLIENT) return Promise.resolve('busy');
    this.pending++;
    if (client !== undefined) this.#perClient.set(client, mine + 1);
    const checked = this.#check(identity(), appId, secret, key, Date.now());
    const check = checked
      .then((v) => v && this.hit(identity(), key, Date.now()))
      .finally(() => {
        this.pending--;
        this.#running.delete(key);
        if (client === undefined) return;
        const left = (this.#perClient.get(client) ?? 1) - 1;
        if (left === 0) this.#perClient.delete(client);
        else this.#perClient.set(client, left);
      });
    this.#running.set(key, check);
    return check;
  }

  async #check(identity: Identity, appId: string, secret: string, key: string, nowMs: number) {
    const app = identity.apps.get(appId);
    if (app === undefined) {
      // An unknown id costs the scrypt a wrong secret costs, so response times do not tell which app ids exist.
      if (secret.length >= 16 && secret.length <= 128) await verifySecret(secret, await decoyHash());
      return undefined;
    }
    const s = await matchSecret(app, secret, nowMs);
    if (s === undefined) return undefined;
    const verified: Verified = { appId, hash: s.hash, expiresAt: s.expiresAt ?? Infinity, version: identity.version };
    this.lru.set(key, verified);
    return verified;
  }
}

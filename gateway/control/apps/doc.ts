import type { App, PublicJwk } from './types.ts';

/** A gateway signing key as stored: the private half never leaves the control plane's store and the pushed Identity. */
export interface StoredKey {
  kid: string;
  alg: string;
  publicJwk: PublicJwk;
  privateJwk: Record<string, unknown>;
  createdAt: number;
  /** Set when a newer key took over; the public half is kept until tokens it signed have expired. */
  retiredAt?: number;
}

/**
 * Everything the app store persists, written whole: apps and signing keys
 * under one version, the compare-and-set of every save. The admin API
 * versions apps and keys apart (their ETags), so a key rotation (scheduled
 * ones too) does not fail an apps write's If-Match, nor an app edit a
 * rotation's: each is the version of the save that last changed that part.
 */
export interface IdentityDoc {
  /** 0 = nothing stored yet; each successful save adds 1. */
  version: number;
  /** The version whose save last changed the apps (0 = never). A doc stored without it (an older release) reads it as
   * `version`. */
  appsVersion: number;
  /** The version whose save last changed the signing keys, as `appsVersion`. */
  keysVersion: number;
  apps: App[];
  keys: StoredKey[];
}

/** A stored doc read back (version 0 and an empty body: an empty store); fields an older release did not write get
 * their defaults. */
export function identityDocOf(version: number, body: Partial<Omit<IdentityDoc, 'version'>>): IdentityDoc {
  return {
    version,
    appsVersion: body.appsVersion ?? version,
    keysVersion: body.keysVersion ?? version,
    apps: body.apps ?? [],
    keys: body.keys ?? [],
  };
}

/**
 * Persists the IdentityDoc. Saves are compare-and-set on the version, so two
 * admin edits (on one node or two) never overwrite each other: the loser
 * reloads and retries.
 */
export interface AppStore {
  load(): Promise<IdentityDoc>;
  /**
   * Stores `doc` as version `expected + 1` unless the stored version has moved
   * past `expected` (undefined: a conflict). A stored version behind
   * `expected` means the store lost its data (Redis restarted empty): the save
   * goes in after `expected` all the same. The caller sets appsVersion and keysVersion.
   */
  save(doc: Omit<IdentityDoc, 'version'>, expected: number): Promise<IdentityDoc | undefined>;
  /**
   * `onChange`: another writer (another node) saved. `onLost`: the stored
   * version went back behind one this store saw (Redis restarted empty, a
   * flush), called with it on every check until it moves forward again.
   * No-op for the single-node store.
   */
  watch(onChange: () => void, onLost?: (stored: number) => void): void;
  close(): Promise<void>;
}

/** Bound on the stored document: apps beyond this are refused by the admin API. */
export const MAX_APPS = 10000;

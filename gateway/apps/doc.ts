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

/** Everything the app store persists, written whole: apps and signing keys under one version. */
export interface IdentityDoc {
  /** 0 = nothing stored yet; each successful save adds 1. */
  version: number;
  apps: App[];
  keys: StoredKey[];
}

/**
 * Persists the IdentityDoc. Saves are compare-and-set on the version, so two
 * admin edits (on one node or two) never overwrite each other: the loser
 * reloads and retries.
 */
export interface AppStore {
  load(): Promise<IdentityDoc>;
  /** Stores `doc` as version `expected + 1` if the stored version is still `expected`; undefined on conflict. */
  save(doc: Omit<IdentityDoc, 'version'>, expected: number): Promise<IdentityDoc | undefined>;
  /** Called when another writer (another node) saved. No-op for the single-node store. */
  watch(onChange: () => void): void;
  close(): Promise<void>;
}

/** Bound on the stored document: apps beyond this are refused by the admin API. */
export const MAX_APPS = 10000;

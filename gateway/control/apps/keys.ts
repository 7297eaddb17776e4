import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { StoredKey } from './doc.ts';
import type { PublicJwk } from './types.ts';

/** A new signing key pair; the kid is the RFC 7638 thumbprint, so it names the key and nothing else. */
export async function generateSigningKey(alg: string, nowMs: number): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const publicJwk: PublicJwk = { ...(pub as Omit<PublicJwk, 'kid' | 'alg' | 'use'>), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
  return { kid, alg, publicJwk, privateJwk, createdAt: nowMs };
}

/** The key new tokens are signed with: the newest one not retired. */
export function currentKey(keys: readonly StoredKey[]): StoredKey | undefined {
  let best: StoredKey | undefined;
  for (const k of keys) if (k.retiredAt === undefined && (!best || k.createdAt > best.createdAt)) best = k;
  return best;
}

/**
 * Retires the current key in favour of `next`, and drops retired keys whose
 * tokens have all expired (retired longer ago than the token lifetime plus the
 * clock tolerance), so JWKS lists only keys that can still verify something.
 */
export function rotateKeys(
  keys: readonly StoredKey[],
  next: StoredKey | undefined,
  nowMs: number,
  keepMs: number,
): StoredKey[] {
  const out: StoredKey[] = [];
  for (const k of keys) {
    if (k.retiredAt !== undefined && k.retiredAt + keepMs <= nowMs) continue;
    out.push(next && k.retiredAt === undefined ? { ...k, retiredAt: nowMs } : k);
  }
  if (next) out.push(next);
  return out;
}

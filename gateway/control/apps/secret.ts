import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { App, SecretHash } from './types.ts';

/** scrypt cost: N=2^14, r=8, p=1 (~16 MiB, tens of ms): a stolen store does not give secrets away cheaply. */
const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

/** 32 random bytes, base64url (43 characters, no `.`, so `<app_id>.<secret>` splits at the first dot). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function derive(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Self-describing: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`, so the cost can change without breaking stored
 * hashes. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (!(n >= 2 && n <= 1 << 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const expected = Buffer.from(parts[5], 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  return timingSafeEqual(await derive(secret, Buffer.from(parts[4], 'base64url'), n, r, p), expected);
}

/** The app's stored hash that `secret` matches and that has not expired at `nowMs`, or undefined. */
export async function matchSecret(app: App, secret: string, nowMs: number): Promise<SecretHash | undefined> {
  // Secrets are 43 base64url characters; anything else cannot match and costs no scrypt.
  if (secret.length < 16 || secret.length > 128) return undefined;
  for (const s of app.secrets) {
    if (s.expiresAt !== undefined && s.expiresAt <= nowMs) continue;
    if (await verifySecret(secret, s.hash)) return s;
  }
  return undefined;
}

/** When the app's stored `hash` stops working (Infinity = never), or undefined when it is no longer one of the app's
 * secrets. */
export function secretExpiry(app: App, hash: string): number | undefined {
  for (const s of app.secrets) if (s.hash === hash) return s.expiresAt ?? Infinity;
  return undefined;
}

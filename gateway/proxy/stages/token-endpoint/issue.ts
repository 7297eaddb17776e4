import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey } from 'jose';
import type { Identity } from '../../../control/apps/types.ts';
import { stateOf, type Runtime } from '../../runtime.ts';
import type { TokensConfig } from './schema.ts';

/** The private key by kid, imported once per process (a handful exist at a time). */
function signingKey(runtime: Runtime, key: NonNullable<Identity['signingKey']>): Promise<CryptoKey> {
  const keys = stateOf(runtime, 'token-endpoint:keys', () => new Map<string, Promise<CryptoKey>>());
  let k = keys.get(key.kid);
  if (!k) {
    if (keys.size >= 16) keys.clear();
    k = importJWK(key.privateJwk, key.alg) as Promise<CryptoKey>;
    keys.set(key.kid, k);
  }
  return k;
}

/** A short-lived access token for `appId`, signed with the current gateway key. */
export async function issueToken(
  runtime: Runtime,
  key: NonNullable<Identity['signingKey']>,
  tokens: TokensConfig,
  appId: string,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(tokens.issuer)
    .setAudience(tokens.audience)
    .setSubject(appId)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + tokens.ttl_s)
    .setJti(randomUUID())
    .sign(await signingKey(runtime, key));
}

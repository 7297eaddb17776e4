import type { IdentityDoc } from './doc.ts';
import { currentKey } from './keys.ts';
import type { App, Identity, PublicJwk } from './types.ts';

/** The Identity as it crosses IPC (structured as JSON: arrays, no Map). */
export interface IdentityWire {
  version: number;
  apps: App[];
  publicKeys: PublicJwk[];
  signingKey?: Identity['signingKey'];
}

export function wireOf(doc: IdentityDoc): IdentityWire {
  const current = currentKey(doc.keys);
  return {
    version: doc.version,
    apps: doc.apps,
    publicKeys: doc.keys.map((k) => k.publicJwk),
    signingKey: current ? { kid: current.kid, alg: current.alg, privateJwk: current.privateJwk } : undefined,
  };
}

/** Frozen so a stage can never change what every other request sees. */
export function identityFromWire(wire: IdentityWire): Identity {
  const apps = new Map<string, App>();
  for (const app of wire.apps) apps.set(app.id, Object.freeze(app));
  return Object.freeze({
    version: wire.version,
    apps,
    publicKeys: Object.freeze([...wire.publicKeys]),
    signingKey: wire.signingKey,
  });
}

/** Algorithms the gateway can sign its own tokens with; never `none`, never a shared-secret HS*. Kept apart from
 * schema.ts so the request path does not load TypeBox. */
export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;

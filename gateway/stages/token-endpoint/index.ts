import type { EdgeStage } from '../../pipeline.ts';

/** POST /oauth/token and /.well-known/jwks.json on the proxy listener (stub: filled in by the security issue's work). */
export const tokenEndpoint: EdgeStage = {
  name: 'token-endpoint',
  scope: 'edge',
  init: () => () => undefined,
};

import { call, get } from './client.ts';

/**
 * The admin API as these tests drive it: one place that knows its paths, so
 * the tests read as operations ("put a service", "roll back to 3").
 */
export function adminClient(baseUrl: string, token?: string) {
  const o = { token };
  return {
    services: () => get(`${baseUrl}/services`, o),
    service: (name: string) => get(`${baseUrl}/services/${name}`, o),
    putService: (svc: { name: string } & Record<string, unknown>) =>
      call('PUT', `${baseUrl}/services/${svc.name}`, { ...o, body: svc }),
    deleteService: (name: string) => call('DELETE', `${baseUrl}/services/${name}`, o),
    upstreams: () => get(`${baseUrl}/upstreams`, o),
    putUpstream: (service: string, upstream: unknown) =>
      call('PUT', `${baseUrl}/upstreams/${service}`, { ...o, body: upstream }),
    health: () => get(`${baseUrl}/health`, o),
    config: () => get(`${baseUrl}/config`, o),
    putConfig: (raw: unknown) => call('PUT', `${baseUrl}/config`, { ...o, body: raw }),
    history: () => get(`${baseUrl}/config/history`, o),
    rollback: (version: number) => call('POST', `${baseUrl}/config/rollback`, { ...o, body: { version } }),
    validate: (raw: unknown) => call('POST', `${baseUrl}/config/validate`, { ...o, body: raw }),
    openapi: () => get(`${baseUrl}/openapi.json`, o),
    healthz: () => get(`${baseUrl}/healthz`),
    readyz: () => get(`${baseUrl}/readyz`),
    metrics: () => get(`${baseUrl}/metrics`, o),
  };
}

export type AdminClient = ReturnType<typeof adminClient>;

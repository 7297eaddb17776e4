// Upstreams, configs and counters for the reload suites.
import { after, before } from 'node:test';
import { service } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { get, metricValue } from './client.ts';

export let up: TestUpstream;
export let slow: TestUpstream;
/** Called when a request reaches `slow`: a test sets it to learn that its request is in flight. */
export const slowHook = { arrived: () => {} };

before(async () => {
  up = await startUpstream('up');
  slow = await startUpstream('slow', (_req, res) => {
    slowHook.arrived();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow done'), 800);
  });
});
after(() => Promise.all([up.close(), slow.close()]));

/** Service `svc` on `/` whose responses carry `x-variant: <variant>`. */
export const variant = (v: string) => ({
  services: [service('svc', [up.url], [{ paths: ['/'], response_headers: { set: { 'x-variant': v } } }])],
});
export const variantOf = async (url: string) => (await get(`${url}/x`)).headers['x-variant'];

/** A config the loader rejects, with errors at known paths (a bad regex, a duplicate name). */
export const INVALID_PATHS = ['/services/0/routes/0/paths/0', '/services/1/name'];
export const invalidConfig = () => ({
  services: [service('svc', [up.url], [{ paths: ['~([a-'] }]), service('svc', [up.url], [{ paths: ['/other'] }])],
});

export const reloadCount = async (adminUrl: string, result: string) =>
  metricValue((await get(`${adminUrl}/metrics`)).text, 'tollgate_config_reloads_total', { result }) ?? 0;

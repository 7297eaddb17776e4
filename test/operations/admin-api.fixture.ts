// One gateway behind a token, with two upstreams, for the admin API suites.
import { after, before } from 'node:test';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient, type AdminClient } from './admin.ts';

export const TOKEN = 'admin-api-test-token-0123456789';

export let one: TestUpstream;
export let two: TestUpstream;
/** Whether `two` passes its health checks; a test turns it off. */
export const twoHealth = { healthy: true };
export let gw: TestGateway;
export let admin: AdminClient;

before(async () => {
  one = await startUpstream('one');
  two = await startUpstream('two', undefined, { healthy: () => twoHealth.healthy });
  gw = await startGateway({
    admin: { token: TOKEN },
    services: [service('api', [one.url], [{ paths: ['/api'] }])],
  });
  admin = adminClient(gw.adminUrl, TOKEN);
});
after(async () => {
  await gw?.close();
  await Promise.all([one?.close(), two?.close()]);
});

export const bService = (paths: string[]) => service('b', [two.url], [{ paths }]);

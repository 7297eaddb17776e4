// A reload that changes a setting read only at start applies the rest and says which settings wait: the admin
// reply's restartPending, tollgate_config_restart_pending, and the log (reload-admin.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reload } from '../helpers/admin.ts';
import { service, startGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { get } from './client.ts';

test('settings that wait for a restart are named in the reply and counted until the config has them', async (t) => {
  const up = await startUpstream('up');
  t.after(() => up.close());
  const gw = await startGateway({ services: [service('a', [up.url], [{ paths: ['/a'] }])] });
  t.after(() => gw.close());
  const admin = adminClient(gw.adminUrl);
  const pending = () => metric(gw, 'tollgate_config_restart_pending');
  const serving = (await get(`${gw.adminUrl}/config`)).json().config;
  assert.equal(await pending(), 0);

  const changed = {
    ...serving,
    workers: 3,
    events: { ...serving.events, node: 'elsewhere' },
    services: [...serving.services, service('b', [up.url], [{ paths: ['/b'] }])],
  };
  const put = await admin.putConfig(changed);
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json().restartPending, ['workers', 'events.node']);
  assert.equal(await pending(), 2);
  assert.deepEqual((await get(`${gw.adminUrl}/config`)).json().restartPending, ['workers', 'events.node']);
  assert.equal((await get(`${gw.url}/b`)).status, 200, 'the rest of the config serves');

  const edit = await admin.putService(service('c', [up.url], [{ paths: ['/c'] }]));
  assert.deepEqual(edit.json().restartPending, ['workers', 'events.node'], 'later edits say they still wait');

  await reload(gw, (c) => {
    c.services = [service('a', [up.url], [{ paths: ['/a'] }])];
  });
  assert.equal(await pending(), 0, 'the config as it started: nothing waits');
  const back = await admin.putService(service('d', [up.url], [{ paths: ['/d'] }]));
  assert.equal(back.status, 200);
  assert.equal(back.json().restartPending, undefined);
  assert.equal((await get(`${gw.adminUrl}/config`)).json().restartPending, undefined);
});

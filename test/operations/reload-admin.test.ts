// Reloads beside admin edits and in-flight requests: log settings, PUT /config, routes and services removed
// mid-request.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, service, startGateway } from '../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { adminClient } from './admin.ts';
import { get } from './client.ts';

import { INVALID_PATHS, invalidConfig, slow, slowHook, up, variant, variantOf } from './reload.fixture.ts';

test('log.level applies on reload without a restart; a log.access_log change warns that it needs one', async () => {
  // What broke: both reloaded as "config applied" and changed nothing until a restart, without a word.
  const dir = tempDir();
  const base = {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
  };
  const file = writeYaml(dir, 'tollgate.yaml', { ...base, log: { level: 'info' }, ...variant('one') });
  const gw = await startGatewayProcess(file);
  const admin = adminClient(gw.adminUrl);
  try {
    writeYaml(dir, 'tollgate.yaml', { ...base, log: { level: 'warn' }, ...variant('two') });
    assert.equal(await eventually(async () => (await variantOf(gw.proxyUrl)) === 'two'), true);
    const quietFrom = gw.logs.length;
    const put = await admin.putService(service('added', [up.url], [{ paths: ['/added'] }]));
    assert.equal(put.status, 200);
    assert.equal((await admin.putConfig(invalidConfig())).status, 400);
    // Log lines come in order: once the warning is here, an info line of the edit before it would be too.
    await gw.waitForLog((l) => l.msg?.startsWith('config rejected'));
    const quiet = gw.logs.slice(quietFrom);
    assert.deepEqual(
      quiet.filter((l) => l.level < 40).map((l) => l.msg),
      [],
      "no info lines at level warn, the admin listener's included",
    );
    assert.ok(
      quiet.some((l) => l.level === 40),
      'warnings still show',
    );
    assert.ok(gw.logs.some((l) => l.msg === 'log level changed' && l.from === 'info' && l.to === 'warn'));

    writeYaml(dir, 'tollgate.yaml', { ...base, log: { level: 'info', access_log: true }, ...variant('three') });
    const restartOnly = await gw.waitForLog((l) => l.settings?.includes('log.access_log'));
    assert.equal(restartOnly.level, 40);
    assert.match(restartOnly.msg, /take effect on restart/);
    await gw.waitForLog(
      (l) => l.msg === 'config applied' && l.source === 'reload' && l.version === put.json().version + 1,
    );
    assert.equal(await variantOf(gw.proxyUrl), 'three');
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});

test('admin PUT /config applies a valid config and rejects an invalid one whole, naming the paths', async () => {
  const gw = await startGateway(variant('one'));
  const admin = adminClient(gw.adminUrl);
  try {
    const ok = await admin.putConfig(variant('two'));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await variantOf(gw.url), 'two', 'applied before the PUT answers');
    const versionBefore = gw.manager.current().version;

    const bad = await admin.putConfig(invalidConfig());
    assert.equal(bad.status, 400, bad.text);
    const body = bad.json();
    assert.equal(body.code, 'GW_ERR_CONFIG_INVALID');
    const paths = (body.errors as { path: string }[]).map((e) => e.path);
    for (const p of INVALID_PATHS) assert.ok(paths.includes(p), `missing ${p} in ${bad.text}`);
    assert.equal(await variantOf(gw.url), 'two');
    assert.equal(gw.manager.current().version, versionBefore);
  } finally {
    await gw.close();
  }
});

test('a request in flight when its route is removed finishes with 200 on the config it started with', async () => {
  const gw = await startGateway({
    services: [
      service('slow', [slow.url], [{ paths: ['/slow'], response_headers: { set: { 'x-variant': 'old' } } }]),
      service('svc', [up.url], [{ paths: ['/'] }]),
    ],
  });
  try {
    const arrived = new Promise<void>((r) => {
      slowHook.arrived = r;
    });
    const inflight = get(`${gw.url}/slow/1`);
    await arrived;
    const version = gw.manager.current().version;
    gw.writeConfig({ services: [service('svc', [up.url], [{ paths: ['/'] }])] });
    assert.ok(await eventually(() => gw.manager.current().version > version, 2000), 'the file change was applied');
    // The route is gone for new requests (they fall through to `/`) while the slow one is still running.
    assert.equal((await get(`${gw.url}/slow/2`)).json().name, 'up');
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'slow done');
    assert.equal(r.headers['x-variant'], 'old');
  } finally {
    await gw.close();
  }
});

test('a request in flight when its service is removed through the admin API still completes', async () => {
  const gw = await startGateway({ services: [service('slow', [slow.url], [{ paths: ['/slow'] }])] });
  try {
    const arrived = new Promise<void>((r) => {
      slowHook.arrived = r;
    });
    const inflight = get(`${gw.url}/slow/1`);
    await arrived;
    const del = await adminClient(gw.adminUrl).deleteService('slow');
    assert.ok(del.status === 200 || del.status === 204, del.text);
    assert.equal((await get(`${gw.url}/slow/2`)).status, 404);
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'slow done');
  } finally {
    await gw.close();
  }
});

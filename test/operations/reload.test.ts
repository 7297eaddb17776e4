import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, service, sleep, startGateway } from '../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { adminClient } from './admin.ts';
import { get } from './client.ts';

import { INVALID_PATHS, invalidConfig, reloadCount, up, variant, variantOf } from './reload.fixture.ts';

test('a changed config file is applied without a restart', async () => {
  const gw = await startGateway(variant('one'));
  try {
    assert.equal(await variantOf(gw.url), 'one');
    gw.writeConfig(variant('two'));
    assert.equal(await eventually(async () => (await variantOf(gw.url)) === 'two'), true);
    assert.equal(gw.manager.current().source, 'reload');
  } finally {
    await gw.close();
  }
});

test(
  'an invalid config file is rejected whole, the old ' + 'config keeps serving, and the errors name the paths',
  async () => {
    const gw = await startGateway(variant('one'));
    try {
      const versionBefore = gw.manager.current().version;
      gw.writeConfig(invalidConfig());
      assert.ok(
        await eventually(async () => (await reloadCount(gw.adminUrl, 'invalid')) >= 1),
        'the watcher tried the file and rejected it',
      );
      assert.equal(await variantOf(gw.url), 'one');
      assert.equal(gw.manager.current().version, versionBefore);
      // What the watcher ran, asked again to see the errors it logged.
      const r = await gw.manager.reloadFromFile();
      assert.equal(r.ok, false);
      const paths = !r.ok ? r.errors.map((e) => e.path) : [];
      for (const p of INVALID_PATHS) assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(paths)}`);
    } finally {
      await gw.close();
    }
  },
);

test('a config file emptied for a moment is refused; the old config and the admin edits keep serving', async () => {
  // What broke: `: > gw.yaml; sleep 0.6; cat gw.yaml.bak > gw.yaml` applied the empty config (every route 404, admin
  // edits dropped).
  const gw = await startGateway(variant('one'));
  const admin = adminClient(gw.adminUrl);
  try {
    assert.equal((await admin.putService(service('added', [up.url], [{ paths: ['/added'] }]))).status, 200);
    const versionBefore = gw.manager.current().version;
    const backup = readFileSync(gw.file, 'utf8');
    writeFileSync(gw.file, '');
    assert.ok(
      await eventually(async () => (await reloadCount(gw.adminUrl, 'invalid')) >= 1),
      'the watcher tried the empty file and refused it',
    );
    await sleep(300);
    writeFileSync(gw.file, backup);
    await sleep(600);
    assert.equal(gw.manager.current().version, versionBefore, 'nothing was applied');
    assert.equal(await variantOf(gw.url), 'one');
    assert.equal((await get(`${gw.url}/added/x`)).json().name, 'up', 'the admin-added service still serves');
    const r = await gw.manager.reloadFromFile();
    assert.ok(r.ok, 'the restored file is the one already serving');
  } finally {
    await gw.close();
  }
});

test('a file written in two chunks with a pause between them is applied once, whole', async () => {
  // What broke: the watcher applied whatever the file held 100 ms after the first event, so a stalled writer's first
  // half was served.
  const gw = await startGateway(variant('one'));
  try {
    const version = gw.manager.current().version;
    const { services: _s, ...rest } = parseYaml(readFileSync(gw.file, 'utf8'));
    const text = stringifyYaml({
      ...rest,
      ...variant('two'),
      services: [...variant('two').services, service('second', [up.url], [{ paths: ['/second'] }])],
    });
    // The first half is itself a valid config: the same file with only the first service.
    const cut = text.lastIndexOf('\n', text.indexOf('- name: second')) + 1;
    writeFileSync(gw.file, text.slice(0, cut));
    await sleep(130);
    appendFileSync(gw.file, text.slice(cut));
    assert.ok(await eventually(() => gw.manager.current().version > version), 'the file was applied');
    await sleep(800);
    assert.equal(gw.manager.current().version, version + 1, 'one version: the half-written file was never applied');
    const applied = gw.manager.current().config.services as { name: string }[];
    assert.deepEqual(
      applied.map((s) => s.name),
      ['svc', 'second'],
    );
    assert.equal(await variantOf(gw.url), 'two');
  } finally {
    await gw.close();
  }
});

test(
  'a Kubernetes ConfigMap update (..data swapped by ' + 'rename under a gw.yaml -> ..data/gw.yaml link) is applied',
  async () => {
    // What broke: the watcher only reacted to events naming gw.yaml, and a ConfigMap update names ..data.
    const mount = tempDir();
    const base = {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(tempDir(), 'store') },
      log: { level: 'info' },
    };
    // What the kubelet does: write a new timestamped directory, point ..data_tmp at it, rename it over ..data.
    const publish = (stamp: string, config: unknown) => {
      mkdirSync(join(mount, stamp));
      writeYaml(join(mount, stamp), 'gw.yaml', config);
      symlinkSync(stamp, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    };
    publish('..2026_11_23_10_00_00.1', { ...base, ...variant('one') });
    symlinkSync('..data/gw.yaml', join(mount, 'gw.yaml'));
    const gw = await startGatewayProcess(join(mount, 'gw.yaml'));
    try {
      assert.equal(await variantOf(gw.proxyUrl), 'one');
      publish('..2026_11_23_10_01_00.2', { ...base, ...variant('two') });
      rmSync(join(mount, '..2026_11_23_10_00_00.1'), { recursive: true });
      assert.equal(
        await eventually(async () => (await variantOf(gw.proxyUrl)) === 'two'),
        true,
        'the swap was applied',
      );
      await gw.waitForLog((l) => l.msg === 'config applied' && l.source === 'reload');
    } finally {
      assert.equal((await gw.stop()).code, 0);
    }
  },
);

test(
  'SIGHUP re-reads the config file; an invalid one is ' + 'logged with its paths and the old one keeps serving',
  async () => {
    // The file the gateway watches is a symlink into another directory, so edits
    // to the real file are invisible to the directory watcher: only SIGHUP can apply them.
    const realDir = tempDir();
    const linkDir = tempDir();
    const base = {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(linkDir, 'store') },
      log: { level: 'info' },
    };
    const real = writeYaml(realDir, 'real.yaml', { ...base, ...variant('one') });
    const link = join(linkDir, 'tollgate.yaml');
    symlinkSync(real, link);
    const gw = await startGatewayProcess(link);
    try {
      assert.equal(await variantOf(gw.proxyUrl), 'one');
      writeYaml(realDir, 'real.yaml', { ...base, ...variant('two') });
      await sleep(400);
      assert.equal(await variantOf(gw.proxyUrl), 'one', 'not applied before SIGHUP');
      gw.child.kill('SIGHUP');
      assert.equal(await eventually(async () => (await variantOf(gw.proxyUrl)) === 'two'), true);

      writeYaml(realDir, 'real.yaml', { ...base, ...invalidConfig() });
      gw.child.kill('SIGHUP');
      const rejected = await gw.waitForLog((l) => /config file rejected/.test(l.msg ?? ''));
      const paths = (rejected.errors as { path: string }[]).map((e) => e.path);
      for (const p of INVALID_PATHS) assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(paths)}`);
      assert.equal(await variantOf(gw.proxyUrl), 'two');
    } finally {
      assert.equal((await gw.stop()).code, 0);
    }
  },
);

test(
  'a file reload the store cannot save is logged as an error, ' +
    'counted, keeps the old config, and the next SIGHUP applies it',
  async () => {
    // What broke: the file's hash was recorded before the store write, so after a failed write every later reload
    // skipped
    // the file.
    const dir = tempDir();
    const base = {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
    };
    const file = writeYaml(dir, 'tollgate.yaml', { ...base, ...variant('one') });
    const gw = await startGatewayProcess(file);
    const head = join(dir, 'store', 'HEAD');
    try {
      assert.equal(await variantOf(gw.proxyUrl), 'one');
      // A store that cannot write: its HEAD pointer is a directory now.
      rmSync(head);
      mkdirSync(head);
      writeYaml(dir, 'tollgate.yaml', { ...base, ...variant('two') });
      const failed = await gw.waitForLog((l) => /config store could not save/.test(l.msg ?? ''));
      assert.equal(failed.level, 50, 'logged at error level');
      assert.equal(await reloadCount(gw.adminUrl, 'error'), 1);
      assert.equal(await variantOf(gw.proxyUrl), 'one', 'the old config keeps serving');
      const put = await adminClient(gw.adminUrl).putService(service('added', [up.url], [{ paths: ['/added'] }]));
      assert.equal(put.status, 503, put.text);
      assert.equal(put.json().code, 'GW_ERR_STORE_UNAVAILABLE');
      assert.equal(
        (await get(`${gw.proxyUrl}/added/x`)).json().name,
        'up',
        'nothing the store did not save is served (falls through to /)',
      );
      assert.equal((await get(`${gw.proxyUrl}/added/x`)).headers['x-variant'], 'one');

      rmdirSync(head);
      gw.child.kill('SIGHUP');
      assert.equal(
        await eventually(async () => (await variantOf(gw.proxyUrl)) === 'two'),
        true,
        'SIGHUP retried the file',
      );
      assert.equal(await reloadCount(gw.adminUrl, 'error'), 2, 'the file and the admin edit each failed once');
    } finally {
      assert.equal((await gw.stop()).code, 0);
    }
  },
);

test('a file reload over admin edits warns, naming how many and which; the file wins', async () => {
  // What broke: a file change silently dropped admin edits, with only an info "config applied".
  const dir = tempDir();
  const base = {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
  };
  const file = writeYaml(dir, 'tollgate.yaml', { ...base, ...variant('one') });
  const gw = await startGatewayProcess(file);
  const admin = adminClient(gw.adminUrl);
  try {
    assert.equal((await admin.putService(service('added', [up.url], [{ paths: ['/added'] }]))).status, 200);
    assert.equal((await admin.putService(service('other', [up.url], [{ paths: ['/other'] }]))).status, 200);
    writeYaml(dir, 'tollgate.yaml', { ...base, ...variant('two') });
    const warned = await gw.waitForLog((l) => /config file applied over admin edits/.test(l.msg ?? ''));
    assert.equal(warned.level, 40, 'a warning');
    assert.equal(warned.replaced_edits, 2);
    assert.deepEqual(warned.replaced, ['3 admin: PUT /services/other', '2 admin: PUT /services/added']);
    assert.equal(await variantOf(gw.proxyUrl), 'two');
    assert.equal((await get(`${gw.proxyUrl}/added/x`)).headers['x-variant'], 'two', 'the admin-added service is gone');
    // The next file change replaces no admin edit: no warning.
    writeYaml(dir, 'tollgate.yaml', { ...base, ...variant('three') });
    assert.equal(await eventually(async () => (await variantOf(gw.proxyUrl)) === 'three'), true);
    assert.equal(gw.logs.filter((l) => /config file applied over admin edits/.test(l.msg ?? '')).length, 1);
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});

test('a comment-only or reformatted file is no new version and keeps the admin edits', async () => {
  // What broke: appending a comment reloaded the file as a new version and dropped an admin-added service.
  const gw = await startGateway(variant('one'));
  try {
    assert.equal(
      (await adminClient(gw.adminUrl).putService(service('added', [up.url], [{ paths: ['/added'] }]))).status,
      200,
    );
    const version = gw.manager.current().version;
    appendFileSync(gw.file, '# a comment\n');
    const r = await gw.manager.reloadFromFile();
    assert.ok(r.ok && r.version.version === version, 'SIGHUP and the watcher find nothing to apply');
    // Reordered keys and flow style say the same thing too.
    const raw = parseYaml(readFileSync(gw.file, 'utf8'));
    writeFileSync(gw.file, JSON.stringify(Object.fromEntries(Object.entries(raw).reverse()), null, 1));
    assert.ok((await gw.manager.reloadFromFile()).ok);
    await sleep(700);
    assert.equal(gw.manager.current().version, version);
    assert.equal(
      (await get(`${gw.url}/added/x`)).headers['x-variant'],
      undefined,
      'the admin-added service still serves',
    );
    assert.equal((await get(`${gw.url}/added/x`)).json().name, 'up');
  } finally {
    await gw.close();
  }
});

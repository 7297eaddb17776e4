import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { get } from './client.ts';

// A config file over OFF_THREAD_BYTES is parsed and validated on a worker thread: here through the built gateway
// (TOLLGATE_TEST_CLI, the bundle in `npm test`), whose config-worker.js must be where load-off-thread.ts looks for it.

let up: TestUpstream;
before(async () => {
  up = await startUpstream('up');
});
after(() => up.close());

/** 3,000 filler services with host and regex routes, and `svc` on `/` answering with `x-variant`. */
function config(dir: string, variant: string, broken = false) {
  const services: unknown[] = [
    {
      name: 'svc',
      routes: [{ paths: ['/'], response_headers: { set: { 'x-variant': variant } } }],
      upstream: { targets: [{ url: up.url }] },
    },
  ];
  for (let i = 0; i < 3000; i++) {
    services.push({
      name: `filler${i}`,
      routes: [
        { hosts: [`h${i}.example.com`], paths: [`/s${i}`] },
        { paths: [broken && i === 2999 ? '~([a-' : `~^/r${i}/[0-9]+$`] },
      ],
      upstream: { targets: [{ url: up.url }] },
    });
  }
  return {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
    services,
  };
}

test(
  'a large config file is reloaded from a worker thread: ' +
    'applied while requests keep being served, or rejected with its paths',
  async () => {
    const dir = tempDir();
    const file = writeYaml(dir, 'tollgate.yaml', config(dir, 'one'));
    const gw = await startGatewayProcess(file, { startTimeoutMs: 30000 });
    let failures = 0;
    let served = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const r = await get(`${gw.proxyUrl}/r2999/7`).catch(() => undefined);
        if (r?.status === 200) served++;
        else failures++;
      }
    })();
    try {
      assert.equal((await get(`${gw.proxyUrl}/x`)).headers['x-variant'], 'one');
      writeYaml(dir, 'tollgate.yaml', config(dir, 'two'));
      gw.child.kill('SIGHUP');
      const parsed = await gw.waitForLog(
        (l) => l.msg === 'large config file parsed and validated on a worker thread',
        20000,
      );
      assert.ok(parsed.chars > 128 * 1024, JSON.stringify(parsed));
      await gw.waitForLog((l) => l.msg === 'config applied', 20000);
      assert.equal((await get(`${gw.proxyUrl}/x`)).headers['x-variant'], 'two');
      assert.equal(
        gw.logs.some((l) => /config worker failed/.test(l.msg ?? '')),
        false,
      );

      writeYaml(dir, 'tollgate.yaml', config(dir, 'three', true));
      gw.child.kill('SIGHUP');
      const rejected = await gw.waitForLog(
        (l) => l.msg === 'config file rejected; the previous config keeps serving',
        20000,
      );
      assert.deepEqual(
        (rejected.errors as { path: string }[]).map((e) => e.path),
        ['/services/3000/routes/1/paths/0'],
      );
      assert.equal((await get(`${gw.proxyUrl}/x`)).headers['x-variant'], 'two');
    } finally {
      probing = false;
      await probe;
      assert.equal((await gw.stop()).code, 0);
    }
    assert.equal(failures, 0);
    assert.ok(served > 0);
  },
);

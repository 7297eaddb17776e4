import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { join } from 'node:path';
import { freePort, runCli, tempDir, writeYaml } from '../helpers/gateway-process.ts';

async function occupy(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return s;
}

for (const workers of [1, 2]) {
  test(`a taken port fails the start with exit 1 and a clear message, never a hang (workers: ${workers})`, async () => {
    const dir = tempDir();
    const [proxyPort, adminPort] = [await freePort(), await freePort()];
    const taken = await occupy(workers === 1 ? adminPort : proxyPort);
    try {
      const file = writeYaml(dir, 'tollgate.yaml', {
        workers, proxy: { listen: `127.0.0.1:${proxyPort}` }, admin: { listen: `127.0.0.1:${adminPort}` },
        store: { dir: join(dir, 'store') }, services: [],
      });
      const r = await runCli(['--config', file], {}, 10000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /tollgate failed to start/);
    } finally {
      taken.close();
    }
  });
}

for (const workers of [1, 2]) {
  test(`a Redis config store that cannot be reached fails the start with exit 1 within seconds (workers: ${workers})`, async () => {
    // What broke: "tollgate failed to start: Command timed out" was printed, and the Redis client's reconnects kept the process alive.
    const dir = tempDir();
    const closed = await freePort();
    const file = writeYaml(dir, 'tollgate.yaml', {
      workers, proxy: { listen: '127.0.0.1:0' }, admin: { listen: '127.0.0.1:0' },
      store: { kind: 'redis', redis_url: `redis://127.0.0.1:${closed}` }, events: { dir: join(dir, 'events') }, services: [],
    });
    const startedAt = Date.now();
    // The store's command timeout is 2 s; runCli fails the test if the process is still there at 8 s.
    const r = await runCli(['--config', file], {}, 8000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /tollgate failed to start: .*timed out/i);
    assert.ok(Date.now() - startedAt < 8000);
  });
}

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

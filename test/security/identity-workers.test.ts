import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, sleep } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { childPids } from '../operations/proc.ts';
import { admin, createApp, getToken } from '../helpers/admin.ts';

/** 40 requests on fresh connections, so the kernel spreads them over both workers. */
async function statuses(url: string, token: string): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: 40 },
      async () => (await send(url, '/x', { headers: { authorization: `Bearer ${token}` } })).status,
    ),
  );
}

test(
  'with workers: 2 the primary pushes apps and keys to ' + 'every worker, including one forked to replace a dead one',
  async () => {
    const upstream = await startUpstream('api');
    const dir = tempDir();
    const file = writeYaml(dir, 'tollgate.yaml', {
      workers: 2,
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
      services: [
        {
          name: 'api',
          routes: [{ paths: ['/'] }],
          upstream: { targets: [{ url: upstream.url }] },
          auth: { type: 'jwt' },
        },
      ],
    });
    const gw = await startGatewayProcess(file, { startTimeoutMs: 30000 }).catch(async (err) => {
      await upstream.close();
      throw err;
    });
    try {
      const { id, secret } = await createApp({ adminUrl: gw.adminUrl });
      const token = await getToken(gw.proxyUrl, id, secret);
      // A token signed by one worker verifies on both.
      assert.deepEqual(new Set(await statuses(gw.proxyUrl, token)), new Set([200]));

      await admin({ adminUrl: gw.adminUrl }, 'PUT', `/apps/${id}`, { name: 'x', status: 'disabled' });
      const refused = await eventually(
        async () => (await statuses(gw.proxyUrl, token)).every((s) => s === 403),
        1000,
        20,
      );
      assert.ok(refused, 'both workers refuse the disabled app within a second');

      await admin({ adminUrl: gw.adminUrl }, 'PUT', `/apps/${id}`, { name: 'x' });
      const [victim] = childPids(gw.pid);
      process.kill(victim, 'SIGKILL');
      await gw.waitForLog((l) => l.msg === 'proxy worker died; starting another');
      const replaced = await eventually(
        () => childPids(gw.pid).length === 2 && !childPids(gw.pid).includes(victim),
        5000,
        50,
      );
      assert.ok(replaced);
      await sleep(300);
      const after = await eventually(
        async () => {
          const s = await statuses(gw.proxyUrl, token);
          return s.every((x) => x === 200) ? s : undefined;
        },
        3000,
        50,
      );
      assert.ok(after, 'the replacement worker knows the app and the key');
    } finally {
      assert.equal((await gw.stop()).code, 0);
      await upstream.close();
    }
  },
);

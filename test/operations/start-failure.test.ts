import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { join } from 'node:path';
import { closedPort, freePort, runCli, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';

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
        workers,
        proxy: { listen: `127.0.0.1:${proxyPort}` },
        admin: { listen: `127.0.0.1:${adminPort}` },
        store: { dir: join(dir, 'store') },
        services: [],
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
  test(
    `a Redis config store that cannot be reached fails the ` + `start with exit 1 within seconds (workers: ${workers})`,
    async () => {
      // What broke: "tollgate failed to start: Command timed out" was printed, and the Redis client's reconnects kept
      // the
      // process alive.
      const dir = tempDir();
      const closed = await closedPort();
      const file = writeYaml(dir, 'tollgate.yaml', {
        workers,
        proxy: { listen: '127.0.0.1:0' },
        admin: { listen: '127.0.0.1:0' },
        store: { kind: 'redis', redis_url: `redis://127.0.0.1:${closed}` },
        events: { dir: join(dir, 'events') },
        services: [],
      });
      const startedAt = Date.now();
      // The store's command timeout is 2 s; runCli fails the test if the process is still there at 8 s.
      const r = await runCli(['--config', file], {}, 8000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /tollgate failed to start: .*timed out/i);
      assert.ok(Date.now() - startedAt < 8000);
    },
  );
}

for (const workers of [1, 2]) {
  test(
    `a second gateway on the same store.dir or events.dir fails the start, naming it; the ` +
      `first keeps serving, and once it is killed the directories can be used (workers: ${workers})`,
    async () => {
      // What broke: the second started and both wrote one event log ("StalePositionError" from the collector), or it
      // failed with SQLite's bare "database is locked", depending on timing.
      const dir = tempDir();
      const events = join(dir, 'events');
      const cfg = (name: string, store: string) =>
        writeYaml(dir, name, {
          workers,
          proxy: { listen: '127.0.0.1:0' },
          admin: { listen: '127.0.0.1:0' },
          store: { dir: join(dir, store) },
          log: { level: 'info' },
          services: [],
        });
      const first = await startGatewayProcess(cfg('first.yaml', 'store'), { env: { TOLLGATE_EVENTS_DIR: events } });
      let killed = false;
      try {
        const sameStore = await runCli(
          ['--config', cfg('second.yaml', 'store')],
          { TOLLGATE_EVENTS_DIR: join(dir, 'other-events') },
          15000,
        );
        assert.equal(sameStore.code, 1, sameStore.stderr);
        assert.match(
          sameStore.stderr,
          new RegExp(
            `store\\.dir ${join(dir, 'store')} is in use by another running Tollgate: ` +
              'give each gateway its own store\\.dir and events\\.dir',
          ),
        );
        const sameEvents = await runCli(
          ['--config', cfg('third.yaml', 'store-3')],
          { TOLLGATE_EVENTS_DIR: events },
          15000,
        );
        assert.equal(sameEvents.code, 1, sameEvents.stderr);
        assert.match(sameEvents.stderr, new RegExp(`events\\.dir ${events} is in use`));
        assert.equal((await fetch(`${first.adminUrl}/readyz`)).status, 200);
        first.child.kill('SIGKILL');
        killed = true;
        await first.exited;
        const next = await startGatewayProcess(cfg('second.yaml', 'store'), { env: { TOLLGATE_EVENTS_DIR: events } });
        assert.equal((await next.stop()).code, 0);
      } finally {
        if (!killed) await first.stop();
      }
    },
  );
}

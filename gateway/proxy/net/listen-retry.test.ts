import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { mock, test } from 'node:test';
import { LISTEN_RETRY_MAX_MS, listenUntilFree } from './listen-retry.ts';

test('a taken address is tried at doubling intervals up to 30 s, logged at first and once a minute', async (t) => {
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  const port = (holder.address() as AddressInfo).port;
  t.after(() => holder.close());
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  t.after(() => mock.timers.reset());
  const tries: { atMs: number; log: boolean }[] = [];
  let failed: () => void = () => undefined;
  const server = createServer();
  const { stop, tried } = listenUntilFree(server, `127.0.0.1:${port}`, {
    listening: () => assert.fail('the address is taken'),
    failed: (_err, failures, log) => {
      assert.equal(failures, tries.length);
      tries.push({ atMs: Date.now(), log });
      failed();
    },
  });
  await tried;
  for (let n = 1; n < 9; n++) {
    const next = new Promise<void>((resolve) => {
      failed = resolve;
    });
    mock.timers.tick(Math.min(1000 * 2 ** (n - 1), LISTEN_RETRY_MAX_MS));
    await next;
  }
  stop();
  assert.deepEqual(
    tries.map((x) => x.atMs / 1000),
    [0, 1, 3, 7, 15, 31, 61, 91, 121],
  );
  assert.deepEqual(
    tries.filter((x) => x.log).map((x) => x.atMs / 1000),
    [0, 61, 121],
    'logged at the first failure, then once at least a minute has passed',
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Target } from '../target.ts';
import { ActiveHealthChecker } from './active.ts';

import { base, hangingServer, healthServer, waitFor } from './active.fixture.ts';

test('marks a target unhealthy after exactly unhealthyThreshold failed checks', async (t) => {
  const upstream = await healthServer(200);
  const target = new Target(upstream.origin);
  const seenAtChange: number[] = [];
  const checker = new ActiveHealthChecker({ ...base, unhealthyThreshold: 3 }, () =>
    seenAtChange.push(upstream.state.sinceFlip),
  );
  t.after(async () => {
    checker.stop();
    await upstream.close();
  });
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => upstream.state.total >= 2);
  assert.equal(target.healthy, true);

  upstream.flip(503);
  await waitFor(() => seenAtChange.length === 1);
  assert.equal(target.healthy, false);
  assert.deepEqual(seenAtChange, [3]);
});

test('marks an unhealthy target healthy after exactly healthyThreshold successful checks', async (t) => {
  const upstream = await healthServer(200);
  const target = new Target(upstream.origin);
  target.healthy = false;
  const seenAtChange: number[] = [];
  const checker = new ActiveHealthChecker({ ...base, healthyThreshold: 3 }, () =>
    seenAtChange.push(upstream.state.sinceFlip),
  );
  t.after(async () => {
    checker.stop();
    await upstream.close();
  });
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => seenAtChange.length === 1);
  assert.equal(target.healthy, true);
  assert.deepEqual(seenAtChange, [3]);
});

test('calls onChange only on transitions', async (t) => {
  const upstream = await healthServer(200);
  const target = new Target(upstream.origin);
  const calls: [Target, boolean][] = [];
  const checker = new ActiveHealthChecker(base, (tg, healthy) => calls.push([tg, healthy]));
  t.after(async () => {
    checker.stop();
    await upstream.close();
  });
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => upstream.state.total >= 5);
  assert.deepEqual(calls, []);

  upstream.flip(503);
  await waitFor(() => upstream.state.sinceFlip >= 6);
  upstream.flip(200);
  await waitFor(() => upstream.state.sinceFlip >= 6);
  assert.deepEqual(calls, [
    [target, false],
    [target, true],
  ]);
});

test('treats a status outside expectedStatuses as a failure and sends the configured Host header', async (t) => {
  const upstream = await healthServer(200);
  const target = new Target(upstream.origin);
  const checker = new ActiveHealthChecker({ ...base, expectedStatuses: [204], host: 'api.example.test' }, () => {});
  t.after(async () => {
    checker.stop();
    await upstream.close();
  });
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => !target.healthy);
  assert.equal(upstream.state.hosts[0], 'api.example.test');
});

test('a target found by DNS is checked with its name as Host, with the port', async (t) => {
  const upstream = await healthServer(200);
  const port = new URL(upstream.origin).port;
  const target = new Target(upstream.origin, 1, 'localhost');
  const checker = new ActiveHealthChecker(base, () => {});
  t.after(async () => {
    checker.stop();
    await upstream.close();
  });
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => upstream.state.total >= 1);
  assert.equal(upstream.state.hosts[0], `localhost:${port}`);
});

test('counts a check unanswered within timeoutMs as a failure, and never overlaps checks of one target', async (t) => {
  const upstream = await hangingServer();
  const target = new Target(upstream.origin);
  const timeoutMs = 100;
  const checker = new ActiveHealthChecker({ ...base, intervalMs: 20, timeoutMs }, () => {});
  t.after(async () => {
    checker.stop();
    await upstream.close();
  });
  const startedMs = Date.now();
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => !target.healthy);
  assert.ok(Date.now() - startedMs >= 2 * timeoutMs, 'two timeouts must pass before the verdict');

  await sleep(300);
  // Overlapping checks would start one per 20 ms tick (~25 in 500 ms);
  // checks that wait for the previous one allow about one per timeout.
  const elapsedMs = Date.now() - startedMs;
  assert.ok(
    upstream.state.requests <= Math.ceil(elapsedMs / timeoutMs) + 1,
    `${upstream.state.requests} checks in ${elapsedMs} ms`,
  );
});

test('checks TCP targets by connecting, following the port as it closes and reopens', async (t) => {
  const server = createTcpServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const target = new Target(`http://127.0.0.1:${port}`);
  const calls: boolean[] = [];
  const checker = new ActiveHealthChecker({ ...base, kind: 'tcp' }, (_t, healthy) => calls.push(healthy));
  t.after(async () => {
    checker.stop();
    if (server.listening) {
      server.close();
      await once(server, 'close');
    }
  });
  checker.setTargets([target]);
  checker.start();
  await sleep(100);
  assert.deepEqual(calls, []);

  server.close();
  await once(server, 'close');
  await waitFor(() => calls.length === 1);
  assert.equal(target.healthy, false);

  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  await waitFor(() => calls.length === 2);
  assert.equal(target.healthy, true);
  assert.deepEqual(calls, [false, true]);
});

test('setTargets starts checking new targets and stops checking removed ones', async (t) => {
  const a = await healthServer(200);
  const b = await healthServer(200);
  const targetA = new Target(a.origin);
  const targetB = new Target(b.origin);
  const checker = new ActiveHealthChecker(base, () => {});
  t.after(async () => {
    checker.stop();
    await a.close();
    await b.close();
  });
  checker.setTargets([targetA]);
  checker.start();
  await waitFor(() => a.state.total >= 2);
  assert.equal(b.state.total, 0);

  checker.setTargets([targetB]);
  await waitFor(() => b.state.total >= 2);
  const aChecks = a.state.total;
  await sleep(100);
  assert.equal(a.state.total, aChecks);
});

test('stop() ends every check, so no more requests reach the target', async (t) => {
  const upstream = await healthServer(200);
  const checker = new ActiveHealthChecker(base, () => {});
  t.after(() => upstream.close());
  checker.setTargets([new Target(upstream.origin)]);
  checker.start();
  await waitFor(() => upstream.state.total >= 2);
  checker.stop();
  const seen = upstream.state.total;
  await sleep(100);
  assert.equal(upstream.state.total, seen);
});

test('stop() aborts a hanging check so the process can exit', async (t) => {
  const upstream = await hangingServer();
  t.after(() => upstream.close());
  const script = `
    import { ActiveHealthChecker } from ${JSON.stringify(new URL('./active.ts', import.meta.url).href)};
    import { Target } from ${JSON.stringify(new URL('../target.ts', import.meta.url).href)};
    const checker = new ActiveHealthChecker({ kind: 'http', path: '/healthz', intervalMs: 20, timeoutMs: 60000,
      expectedStatuses: [200], healthyThreshold: 1, unhealthyThreshold: 1 }, () => {});
    checker.setTargets([new Target(process.env.ORIGIN)]);
    checker.start();
    setTimeout(() => checker.stop(), 200);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ORIGIN: upstream.origin },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const killer = setTimeout(() => child.kill(), 5000);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(killer);
  assert.equal(signal, null, 'the child had to be killed: something kept it alive after stop()');
  assert.equal(code, 0);
  assert.equal(upstream.state.requests, 1, 'one check was in flight when stop() ran');
});

// Active checks against a blocked event loop, connection reuse, IPv6 and late checks.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Target } from '../target.ts';
import { ActiveHealthChecker } from './active.ts';

import { base, closeServer, healthServer, listen, waitFor } from './active.fixture.ts';

/** An HTTP upstream in a child process, so it answers while this process's event loop is blocked. */
async function childHealthServer(t: TestContext): Promise<{ origin: string; checks: () => Promise<number> }> {
  const script = `
    let n = 0;
    const server = require('node:http').createServer((req, res) => {
      if (req.url === '/count') return res.end(String(n));
      n++;
      res.end('ok');
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const [line] = await once(child.stdout!, 'data');
  const origin = `http://127.0.0.1:${String(line).trim()}`;
  return { origin, checks: async () => Number(await (await fetch(`${origin}/count`)).text()) };
}

// HTTP only: a loopback connect completes before this process's loop can block
// behind it, so a TCP check cannot be made late this way. Both share the timer.
test(
  'a check answered in time is not failed because ' + "this process's event loop was blocked past the timeout",
  async (t) => {
    const upstream = await childHealthServer(t);
    const target = new Target(upstream.origin);
    const changes: boolean[] = [];
    const checker = new ActiveHealthChecker(
      { ...base, intervalMs: 50, timeoutMs: 100, unhealthyThreshold: 1, healthyThreshold: 1 },
      (_t, healthy) => changes.push(healthy),
    );
    t.after(() => checker.stop());
    // Block the loop for 3x the timeout just after each of the first checks
    // has sent its request: the answer arrives during the block, and the
    // timeout timer is due when it ends.
    let blocks = 0;
    const block = (): void => {
      if (blocks >= 3) return;
      blocks++;
      const until = performance.now() + 300;
      while (performance.now() < until);
    };
    // Node publishes each client socket it creates: block right after the check writes its request on it. The
    // wrapper goes on at 'connect' (this listener runs before the connector's), as connecting resets socket.write.
    const blockAfterWrite = (message: unknown): void => {
      const socket = (message as { socket: Socket }).socket;
      socket.once('connect', () => {
        const write = socket.write;
        socket.write = function (this: Socket, ...args: unknown[]) {
          socket.write = write;
          setImmediate(block);
          return (write as (...a: unknown[]) => boolean).apply(this, args);
        } as typeof socket.write;
      });
    };
    subscribe('net.client.socket', blockAfterWrite);
    t.after(() => unsubscribe('net.client.socket', blockAfterWrite));
    checker.setTargets([target]);
    checker.start();
    await waitFor(() => blocks >= 3);
    await sleep(200);
    assert.ok((await upstream.checks()) >= 3);
    assert.deepEqual(
      changes,
      [],
      'the target was marked down by a timeout that fired only because the loop was blocked',
    );
    assert.equal(target.healthy, true);
  },
);

test('HTTP checks open a connection each by default, and share one with reuseConnection', async (t) => {
  for (const reuseConnection of [false, true]) {
    const upstream = await healthServer(200);
    let connections = 0;
    const target = new Target(upstream.origin);
    const checker = new ActiveHealthChecker({ ...base, intervalMs: 30, reuseConnection }, () => {});
    t.after(async () => {
      checker.stop();
      await upstream.close();
    });
    upstream.onConnection(() => connections++);
    checker.setTargets([target]);
    checker.start();
    await waitFor(() => upstream.state.total >= 6);
    checker.stop();
    if (reuseConnection) assert.equal(connections, 1, `${upstream.state.total} checks over ${connections} connections`);
    else assert.ok(connections >= 6, `${upstream.state.total} checks over ${connections} connections`);
    assert.equal(target.healthy, true);
  }
});

test(
  'with reuseConnection, an upstream that closes idle ' +
    'connections before the next check (no Keep-Alive hint) fails no check',
  async (t) => {
    // Raw HTTP/1.1: answers each request, sends no Keep-Alive hint, and closes a
    // connection left idle for 20 ms, well before the next check.
    const state = { connections: 0, requests: 0 };
    const server = createTcpServer((socket) => {
      state.connections++;
      let buffered = '';
      let idle: NodeJS.Timeout | undefined;
      socket.on('data', (chunk) => {
        clearTimeout(idle);
        buffered += chunk.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
          state.requests++;
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }
        idle = setTimeout(() => socket.end(), 20);
      });
      socket.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const target = new Target(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const changes: boolean[] = [];
    const checker = new ActiveHealthChecker(
      { ...base, intervalMs: 80, unhealthyThreshold: 1, reuseConnection: true },
      (_t, healthy) => changes.push(healthy),
    );
    t.after(() => checker.stop());
    checker.setTargets([target]);
    checker.start();
    await waitFor(() => state.requests >= 8);
    assert.deepEqual(changes, [], 'a check failed on a connection the upstream had closed while idle');
    assert.equal(target.healthy, true);
    assert.ok(
      state.connections >= state.requests - 1,
      `${state.requests} checks over ${state.connections} connections: closed ones were not reused`,
    );
  },
);

test(
  'a health response with a body over 64 KB is judged ' + 'by its status, and its connection is dropped unread',
  async (t) => {
    for (const [status, healthy] of [
      [200, true],
      [503, false],
    ] as const) {
      let served = 0;
      let unfinished = 0;
      // 64 MB, far more than the socket buffers hold, written as the client reads it.
      const size = 64 << 20;
      const chunk = Buffer.alloc(65536);
      const server = createServer((_req, res) => {
        served++;
        res.writeHead(status, { 'content-length': String(size) });
        let sent = 0;
        const more = () => {
          while (sent < size) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        res.on('close', () => {
          if (!res.writableFinished) unfinished++;
        });
        more();
      });
      const origin = await listen(server);
      const target = new Target(origin);
      target.healthy = !healthy;
      const changes: boolean[] = [];
      const checker = new ActiveHealthChecker({ ...base, intervalMs: 30 }, (_t, h) => changes.push(h));
      t.after(async () => {
        checker.stop();
        await closeServer(server);
      });
      checker.setTargets([target]);
      checker.start();
      await waitFor(() => served >= 3 && unfinished >= 2);
      checker.stop();
      assert.equal(target.healthy, healthy, `status ${status}`);
      assert.deepEqual(changes, [healthy]);
    }
  },
);

test(
  'every passing check on a connection of its own is ' +
    'reported with its start time; one on a kept connection is not',
  async (t) => {
    for (const [options, reported] of [
      [{ kind: 'http' }, true],
      [{ kind: 'tcp' }, true],
      [{ kind: 'http', reuseConnection: true }, false],
    ] as const) {
      const upstream = await healthServer(200);
      const target = new Target(upstream.origin);
      const passes: number[] = [];
      const before = Date.now();
      const checker = new ActiveHealthChecker(
        { ...base, ...options },
        () => {},
        (passed, startedMs) => {
          assert.equal(passed, target);
          passes.push(startedMs);
        },
      );
      t.after(async () => {
        checker.stop();
        await upstream.close();
      });
      checker.setTargets([target]);
      checker.start();
      await sleep(150);
      upstream.flip(503);
      await sleep(100);
      const reportedSoFar = passes.length;
      await sleep(100);
      checker.stop();
      const label = JSON.stringify(options);
      if (!reported) {
        assert.equal(passes.length, 0, label);
        continue;
      }
      assert.ok(passes.length >= 3, `${label}: ${passes.length} passes`);
      assert.ok(
        passes.every((ms, i) => ms >= before && (i === 0 || ms >= passes[i - 1])),
        `${label}: ${passes}`,
      );
      // A TCP check passes whatever /healthz answers; an HTTP check answered 503 is not a pass.
      if (options.kind === 'http') assert.equal(passes.length, reportedSoFar, `${label}: a failing check was reported`);
    }
  },
);

test('an HTTP check on a new connection reaches an IPv6 target and names it in brackets in Host', async (t) => {
  const hosts: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    hosts.push(req.headers.host);
    res.end('ok');
  });
  server.listen(0, '::1');
  await once(server, 'listening');
  const origin = `http://[::1]:${(server.address() as AddressInfo).port}`;
  const target = new Target(origin);
  let passes = 0;
  const checker = new ActiveHealthChecker(
    { ...base, unhealthyThreshold: 1 },
    () => {},
    () => passes++,
  );
  t.after(async () => {
    checker.stop();
    await closeServer(server);
  });
  checker.setTargets([target]);
  checker.start();
  await waitFor(() => passes >= 2);
  assert.equal(target.healthy, true);
  assert.equal(hosts[0], origin.slice('http://'.length));
});

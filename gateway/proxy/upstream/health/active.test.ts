import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Target } from '../target.ts';
import { ActiveHealthChecker, type ActiveHealthOptions } from './active.ts';

const base: ActiveHealthOptions = {
  kind: 'http',
  path: '/healthz',
  intervalMs: 20,
  timeoutMs: 200,
  expectedStatuses: [200],
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

/** An upstream whose /healthz answers `status`; counts checks served since the last flip. */
async function healthServer(status = 200) {
  const state = { status, sinceFlip: 0, total: 0, hosts: [] as (string | undefined)[] };
  const server = createServer((req, res) => {
    if (req.url !== '/healthz') {
      res.statusCode = 404;
      res.end();
      return;
    }
    state.total++;
    state.sinceFlip++;
    state.hosts.push(req.headers.host);
    res.statusCode = state.status;
    res.end('ok');
  });
  const origin = await listen(server);
  return {
    origin,
    state,
    onConnection(listener: () => void) {
      server.on('connection', listener);
    },
    flip(next: number) {
      state.status = next;
      state.sinceFlip = 0;
    },
    close: () => closeServer(server),
  };
}

/** An upstream that accepts requests and never answers them. */
async function hangingServer() {
  const state = { requests: 0 };
  const server = createServer(() => {
    state.requests++;
  });
  const origin = await listen(server);
  return { origin, state, close: () => closeServer(server) };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

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

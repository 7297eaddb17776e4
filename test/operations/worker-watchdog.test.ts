// workers > 1: a proxy worker whose event loop is stuck is found by the primary's
// watchdog (worker_watchdog_ms), killed and replaced; before it, such a worker kept
// the connections it accepted and held every admin write 10 s waiting for its ack.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { call, get, getFresh, metricValue } from './client.ts';
import { childPids } from './proc.ts';

const WATCHDOG_MS = 2000;

let up: TestUpstream;
let gw: GatewayProcess;
const stopped: number[] = [];

const restarts = async (reason: string) =>
  metricValue((await get(`${gw.adminUrl}/metrics`)).text, 'tollgate_worker_restarts_total', { reason });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

before(async () => {
  up = await startUpstream('echo', (req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const dir = tempDir();
  gw = await startGatewayProcess(
    writeYaml(dir, 'watchdog.yaml', {
      workers: 2,
      worker_watchdog_ms: WATCHDOG_MS,
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
      services: [
        {
          name: 'echo',
          routes: [{ paths: ['/'], response_headers: { set: { 'x-variant': 'one' } } }],
          upstream: { targets: [{ url: up.url }] },
        },
      ],
    }),
  );
});

after(async () => {
  for (const pid of stopped) if (alive(pid)) process.kill(pid, 'SIGCONT');
  if (gw) assert.equal((await gw.stop()).code, 0);
  await up?.close();
});

test('both reasons of tollgate_worker_restarts_total are exported at 0 from the start', async () => {
  assert.equal(await restarts('exited'), 0);
  assert.equal(await restarts('unresponsive'), 0);
});

test(
  'a worker whose event loop is stuck is killed after ' +
    'worker_watchdog_ms and replaced, and an admin write does not wait on it',
  async () => {
    const workers = childPids(gw.pid);
    assert.equal(workers.length, 2);
    // SIGSTOP freezes the worker as an endless loop would: it sends nothing and answers nothing.
    const stuck = workers[0]!;
    process.kill(stuck, 'SIGSTOP');
    stopped.push(stuck);
    const started = performance.now();
    const put = await call('PUT', `${gw.adminUrl}/services/echo`, {
      body: {
        name: 'echo',
        routes: [{ paths: ['/'], response_headers: { set: { 'x-variant': 'two' } } }],
        upstream: { targets: [{ url: up.url }] },
      },
    });
    const tookMs = performance.now() - started;
    assert.equal(put.status, 200, put.text);
    // The roll-out waited for the stuck worker until the watchdog killed it, not for its 10 s ack timeout.
    assert.ok(tookMs < 8000, `the PUT took ${Math.round(tookMs)} ms`);
    const line = await gw.waitForLog(
      (l) => l.msg === 'proxy worker unresponsive (its event loop is stuck): killing it; another starts',
      5000,
    );
    assert.equal(line.pid, stuck);
    assert.ok(line.silent_ms >= WATCHDOG_MS, `silent_ms ${line.silent_ms}`);
    assert.ok(await eventually(() => !alive(stuck), 5000, 50), 'the stuck worker is gone');
    const replaced = await eventually(
      () => {
        const now = childPids(gw.pid);
        return now.length === 2 && !now.includes(stuck) ? now : undefined;
      },
      10_000,
      50,
    );
    assert.ok(replaced, `workers now: ${childPids(gw.pid)}`);
    assert.equal(await restarts('unresponsive'), 1);
    assert.equal(await restarts('exited'), 0, 'a kill by the watchdog is not counted as a death');
    assert.equal(gw.logs.filter((l) => l.msg === 'proxy worker died; starting another').length, 0);
    // The new worker gets the current config before it listens: every request sees the edit.
    const replies = await eventually(
      async () => {
        const r = await Promise.all(Array.from({ length: 12 }, () => getFresh(`${gw.proxyUrl}/x`)));
        return r.every((x) => x.status === 200 && x.headers['x-variant'] === 'two') ? r : undefined;
      },
      5000,
      100,
    );
    assert.ok(replies, 'every request after the replacement succeeds on the edited config');
  },
);

test(
  'a primary that was itself stopped for longer than ' + 'worker_watchdog_ms kills no worker when it resumes',
  async () => {
    const workers = childPids(gw.pid);
    assert.equal(workers.length, 2);
    // Meanwhile the workers' reports wait unread in the IPC pipes; the first look after must not take them for silence.
    process.kill(gw.pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, WATCHDOG_MS + 1500));
    process.kill(gw.pid, 'SIGCONT');
    await new Promise((r) => setTimeout(r, WATCHDOG_MS));
    assert.deepEqual(childPids(gw.pid), workers, 'the same two workers serve');
    assert.equal(await restarts('unresponsive'), 1, 'only the kill of the test before');
  },
);

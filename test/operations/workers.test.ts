import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/gateway.ts';
import { readFileSync } from 'node:fs';
import {
  CLI,
  freePort,
  REPO_ROOT,
  startGatewayProcess,
  tempDir,
  writeYaml,
  type GatewayProcess,
} from '../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { get, getFresh, metricValue } from './client.ts';
import { childPids, localTcpPorts } from './proc.ts';

const REQUESTS = 60;
const CONCURRENCY = 12;

let up: TestUpstream;
let gw: GatewayProcess;
let file: string;
/** Source ports of the gateway→upstream connections, to trace each request to the worker that sent it. */
const upstreamPeerPorts = new Set<number>();
let base: Record<string, unknown>;

const withVariant = (variant: string) => ({
  ...base,
  services: [
    {
      name: 'echo',
      routes: [{ paths: ['/'], response_headers: { set: { 'x-variant': variant } } }],
      upstream: { targets: [{ url: up.url }] },
    },
  ],
});

/** REQUESTS GETs, CONCURRENCY at a time, each on its own connection so the kernel spreads them over the workers. */
async function burst(path: string, base = gw.proxyUrl) {
  const replies: Awaited<ReturnType<typeof getFresh>>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next++;
        replies.push(await getFresh(`${base}${path}`));
      }
    }),
  );
  return replies;
}

const metrics = async () => (await get(`${gw.adminUrl}/metrics`)).text;
/** The workers that sent at least one request upstream (their sockets are the peers the upstream saw). */
const servingWorkers = () =>
  childPids(gw.pid).filter((pid) => [...localTcpPorts(pid)].some((p) => upstreamPeerPorts.has(p)));

before(async () => {
  up = await startUpstream('echo', (req, res) => {
    upstreamPeerPorts.add(req.socket.remotePort!);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  const port = await freePort();
  const dir = tempDir();
  base = {
    workers: 2,
    // Workers share one listening port, which must be known up front (port 0 would be reported as 0).
    proxy: { listen: `127.0.0.1:${port}` },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
  };
  file = writeYaml(dir, 'workers.yaml', withVariant('one'));
  gw = await startGatewayProcess(file);
});

after(async () => {
  if (gw) assert.equal((await gw.stop()).code, 0, 'the primary stops its workers and exits 0');
  await up?.close();
});

test('a workers: 2 gateway runs two proxy workers that both serve requests', async () => {
  const workers = childPids(gw.pid);
  assert.equal(workers.length, 2, `worker pids: ${workers}`);
  const replies = await burst('/a');
  assert.deepEqual(
    replies.filter((r) => r.status !== 200),
    [],
  );
  assert.deepEqual(servingWorkers(), workers, 'each worker sent at least one request upstream');
});

// scripts/bin/tollgate runs the bundle with one documented node option in NODE_OPTIONS; cluster workers inherit it.
test(
  'run by scripts/bin/tollgate, the primary and both workers ' +
    'run the bundle with the young generation capped and nothing else',
  (t) => {
    if (CLI !== join(REPO_ROOT, 'dist/bundle/cli.js')) {
      t.skip(
        'the gateway under test is the sources, not the bundle the launcher runs (npm test builds and runs the bundle)',
      );
      return;
    }
    const proc = (pid: number, file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0');
    for (const pid of [gw.pid, ...childPids(gw.pid)]) {
      const argv = proc(pid, 'cmdline');
      assert.ok(
        argv[1]?.endsWith('dist/bundle/cli.js'),
        `pid ${pid} runs the bundle with no node flags: ${argv.join(' ')}`,
      );
      const env = proc(pid, 'environ');
      assert.ok(
        env.some((e) => /^NODE_OPTIONS=--max-semi-space-size=16\b/.test(e)),
        `pid ${pid} NODE_OPTIONS`,
      );
      assert.ok(!env.some((e) => /^GLIBC_TUNABLES=.*mmap_threshold/.test(e)), `pid ${pid} GLIBC_TUNABLES`);
    }
    assert.equal(childPids(gw.pid).length, 2);
  },
);

test('admin /metrics sums tollgate_requests_total over both workers and reports their config version', async () => {
  const first = await get(`${gw.adminUrl}/metrics`);
  assert.equal(first.status, 200, first.text);
  const before = metricValue(first.text, 'tollgate_requests_total', { service: 'echo', status_class: '2xx' }) ?? 0;
  await burst('/b');
  const total = await eventually(async () => {
    const v = metricValue(await metrics(), 'tollgate_requests_total', { service: 'echo', status_class: '2xx' }) ?? 0;
    return v - before === REQUESTS ? v : 0;
  }, 3000);
  assert.equal(total - before, REQUESTS);
  assert.equal(metricValue(await metrics(), 'tollgate_config_version'), 1);
});

test('a config reload reaches every worker', async () => {
  writeYaml(join(file, '..'), 'workers.yaml', withVariant('two'));
  upstreamPeerPorts.clear();
  // Applies reach the workers over IPC one after the other: wait until a whole burst sees the new config.
  const replies = await eventually(
    async () => {
      const r = await burst('/c');
      return r.every((x) => x.headers['x-variant'] === 'two') ? r : undefined;
    },
    5000,
    50,
  );
  assert.ok(replies, 'a burst of requests all saw the new config');
  assert.deepEqual(servingWorkers(), childPids(gw.pid), 'and both workers served it');
});

test('a listener a reload adds is served by both workers, and refused once a reload removes it', async () => {
  const listen = `127.0.0.1:${await freePort()}`;
  const listener = `http://${listen}`;
  const config = withVariant('two');
  writeYaml(join(file, '..'), 'workers.yaml', { ...config, listeners: [{ name: 'added', listen }] });
  upstreamPeerPorts.clear();
  const replies = await eventually(
    async () => {
      const r = await burst('/d', listener).catch(() => undefined);
      return r?.every((x) => x.status === 200) ? r : undefined;
    },
    10000,
    100,
  );
  assert.ok(replies, 'the added listener serves');
  assert.deepEqual(servingWorkers(), childPids(gw.pid), 'on both workers');
  writeYaml(join(file, '..'), 'workers.yaml', config);
  const refused = () =>
    getFresh(`${listener}/e`).then(
      () => false,
      (err: Error) => /ECONNREFUSED/.test(`${err.message} ${(err.cause as Error | undefined)?.message}`),
    );
  assert.ok(await eventually(refused, 10000, 100), 'no worker listens there once it is removed');
});

test('admin /metrics counts config reloads with workers > 1', async () => {
  const r = await get(`${gw.adminUrl}/metrics`);
  assert.equal(r.status, 200, r.text);
  assert.ok(
    (metricValue(r.text, 'tollgate_config_reloads_total', { result: 'ok' }) ?? 0) >= 1,
    'the reload above is counted',
  );
});

// Regression: the workers' registries held an empty tollgate_config_reloads_total beside the
// primary's own, so the family came twice and `promtool check metrics` refused the page.
test('admin /metrics with workers > 1 has each metric family once', async () => {
  const text = (await get(`${gw.adminUrl}/metrics`)).text;
  const families = text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2]);
  assert.ok(families.includes('tollgate_config_reloads_total'));
  assert.deepEqual(
    families.filter((name, i) => families.indexOf(name) !== i),
    [],
    'families with a second TYPE line',
  );
});

test(
  'a killed worker is replaced by a new one that serves ' +
    'the current config, and cluster-wide counters do not go down',
  async () => {
    const workers = childPids(gw.pid);
    assert.equal(workers.length, 2);
    // Both workers have served requests (the tests above check it), so each holds part of the count.
    const counted = metricValue(await metrics(), 'tollgate_requests_total') ?? 0;
    assert.ok(counted >= 3 * REQUESTS, `requests counted before the kill: ${counted}`);
    process.kill(workers[0], 'SIGKILL');
    const replaced = await eventually(
      () => {
        const now = childPids(gw.pid);
        return now.length === 2 && !now.includes(workers[0]) ? now : undefined;
      },
      10000,
      50,
    );
    assert.ok(replaced, `workers after the kill: ${childPids(gw.pid)}`);
    await gw.waitForLog((l) => l.msg === 'proxy worker died; starting another');
    // Regression: requests_total fell from 4 to 3 when a worker died, which Prometheus takes for a counter reset.
    assert.equal(
      metricValue(await metrics(), 'tollgate_requests_total'),
      counted,
      "the dead worker's count is kept, not lost",
    );
    const histogramCount = metricValue(await metrics(), 'tollgate_request_duration_seconds_count');
    assert.equal(histogramCount, counted, 'and so are its histograms');
    // The new worker listens after it receives its first config; until then the survivor serves.
    const replies = await eventually(
      async () => {
        const r = await burst('/d');
        return r.every((x) => x.status === 200 && x.headers['x-variant'] === 'two') ? r : undefined;
      },
      5000,
      100,
    );
    assert.ok(replies, 'every request after the replacement succeeds on the current config');
    const fresh = replaced.find((pid) => !workers.includes(pid))!;
    assert.ok(
      await eventually(async () => {
        await burst('/e');
        return servingWorkers().includes(fresh);
      }, 5000),
      'the new worker serves requests',
    );
    assert.ok(
      (metricValue(await metrics(), 'tollgate_requests_total') ?? 0) >= counted + 2 * REQUESTS,
      'and counts on from there',
    );
  },
);

test('SIGHUP to the primary and its workers (a process-group HUP) reloads and kills no worker', async () => {
  const workers = childPids(gw.pid);
  assert.equal(workers.length, 2);
  const died = () => gw.logs.filter((l) => l.msg === 'proxy worker died; starting another').length;
  const diedBefore = died();
  writeYaml(join(file, '..'), 'workers.yaml', withVariant('hup'));
  // What `pkill -HUP -f tollgate` or `kill -HUP -PGID` does: every process gets the signal.
  for (const pid of [gw.pid, ...workers]) process.kill(pid, 'SIGHUP');
  const replies = await eventually(
    async () => {
      const r = await burst('/hup');
      return r.every((x) => x.status === 200 && x.headers['x-variant'] === 'hup') ? r : undefined;
    },
    5000,
    50,
  );
  assert.ok(replies, 'a burst of requests all saw the reloaded config');
  assert.deepEqual(childPids(gw.pid), workers, 'the same two workers still serve');
  assert.equal(died(), diedBefore, 'no worker died');
});

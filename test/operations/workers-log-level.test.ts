import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, sleep } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { getFresh } from './client.ts';
import { childPids } from './proc.ts';

/**
 * Regression: proxy workers made their logger from TOLLGATE_LOG_LEVEL (default
 * info), so with `workers` > 1 the config's log.level never reached their
 * lines, at start or on reload: `log: {level: warn, access_log: true}` still
 * wrote an access line (info) per request. Access lines are written by the
 * worker that served the request, so they show the workers' level.
 */

let up: TestUpstream;
let gw: GatewayProcess;
let dir: string;
let base: Record<string, unknown>;

const config = (level: string, variant: string) => ({
  ...base,
  log: { level, access_log: true },
  services: [
    {
      name: 'echo',
      routes: [{ paths: ['/'], response_headers: { set: { 'x-variant': variant } } }],
      upstream: { targets: [{ url: up.url }] },
    },
  ],
});

/** Requests on fresh connections, so the kernel spreads them over both workers. */
const burst = (path: string, n = 24) =>
  Promise.all(Array.from({ length: n }, (_, i) => getFresh(`${gw.proxyUrl}${path}/${i}`)));
const accessLines = (prefix: string) => gw.logs.filter((l) => l.type === 'access' && String(l.path).startsWith(prefix));

/** Rewrites the file and waits until every worker serves it (each request on any worker answers with the variant). */
async function reloadTo(level: string, variant: string) {
  writeYaml(dir, 'gw.yaml', config(level, variant));
  const seen = await eventually(
    async () => (await burst(`/wait-${variant}`)).every((r) => r.headers['x-variant'] === variant),
    5000,
    50,
  );
  assert.ok(seen, `both workers serve variant ${variant}`);
}

before(async () => {
  up = await startUpstream('echo');
  dir = tempDir();
  const proxy = `127.0.0.1:${await freePort()}`;
  const admin = `127.0.0.1:${await freePort()}`;
  base = { workers: 2, proxy: { listen: proxy }, admin: { listen: admin }, store: { dir: join(dir, 'store') } };
  // Nothing is logged at info, so the start is seen on /readyz, not in the "tollgate listening" line.
  gw = await startGatewayProcess(writeYaml(dir, 'gw.yaml', config('warn', 'one')), { listening: { proxy, admin } });
});

after(async () => {
  if (gw) assert.equal((await gw.stop()).code, 0);
  await up?.close();
});

test('with workers: 2 and log.level warn in the file, the workers write no access lines (info)', async () => {
  const replies = await burst('/at-start');
  assert.deepEqual(
    replies.filter((r) => r.status !== 200),
    [],
  );
  // pino writes asynchronously: give any line time to arrive.
  await sleep(500);
  assert.deepEqual(accessLines('/at-start'), []);
});

test('a reload to log.level info reaches both workers: each writes access lines', async () => {
  await reloadTo('info', 'two');
  const workers = childPids(gw.pid);
  assert.equal(workers.length, 2);
  const lines = await eventually(
    async () => {
      await burst('/at-info');
      const l = accessLines('/at-info');
      return workers.every((pid) => l.some((x) => x.pid === pid)) ? l : undefined;
    },
    5000,
    100,
  );
  assert.ok(
    lines,
    `access lines by worker: ${JSON.stringify(accessLines('/at-info').map((l) => l.pid))}, workers ${workers}`,
  );
  assert.ok(lines.every((l) => l.role === 'worker'));
});

test('a reload back to log.level warn silences them again', async () => {
  await reloadTo('warn', 'three');
  await burst('/at-warn');
  await sleep(500);
  assert.deepEqual(accessLines('/at-warn'), []);
});

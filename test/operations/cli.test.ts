import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  freePort,
  portIsFree,
  REPO_ROOT,
  runCli,
  startGatewayProcess,
  tempDir,
  writeYaml,
} from '../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { get } from './client.ts';

const TOKEN = 'operations-test-token-0123456789';
const dir = tempDir();
const upstreams: TestUpstream[] = [];
after(() => Promise.all(upstreams.map((u) => u.close())));

/** A runnable config: one service on `/`, listeners on port 0, info logs (the helper waits for "tollgate listening").
 * */
function runnable(targetUrl: string, extra: Record<string, unknown> = {}) {
  return {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(tempDir(), 'store') },
    log: { level: 'info' },
    services: [{ name: 'echo', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: targetUrl }] } }],
    ...extra,
  };
}

const BAD_SCHEMA = `
proxy:
  listen: 127.0.0.1:8080
  bogus_field: 1
  max_body_bytes: lots
`;
const BAD_SEMANTICS_SERVICES = `
services:
  - name: a
    routes: [{ paths: ['~([a-'] }]
    upstream: { targets: [{ url: 'http://127.0.0.1:9001' }] }
  - name: a
    routes: [{ paths: [/b] }]
    upstream: {}
`;

test('validate prints the path of every bad field and exits non-zero', async () => {
  const file = writeYaml(dir, 'bad-all.yaml', BAD_SCHEMA + BAD_SEMANTICS_SERVICES);
  const r = await runCli(['validate', '--config', file]);
  assert.notEqual(r.code, 0);
  for (const path of [
    '/proxy/bogus_field',
    '/proxy/max_body_bytes',
    '/services/0/routes/0/paths/0',
    '/services/1/name',
    '/services/1/upstream/targets',
  ]) {
    assert.match(r.stderr, new RegExp(`${path}:`), `missing ${path} in:\n${r.stderr}`);
  }
});

test('validate names an unknown field and a wrongly typed field by path and exits 1', async () => {
  const file = writeYaml(dir, 'bad-schema.yaml', BAD_SCHEMA);
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /invalid config/);
  assert.match(r.stderr, /\/proxy\/bogus_field: unknown field/);
  assert.match(r.stderr, /\/proxy\/max_body_bytes:/);
  assert.doesNotMatch(r.stdout, /valid/);
});

test('validate names a bad regex, a duplicate service name and missing targets by path and exits 1', async () => {
  const file = writeYaml(dir, 'bad-semantics.yaml', BAD_SEMANTICS_SERVICES);
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /\/services\/0\/routes\/0\/paths\/0: invalid regular expression/);
  assert.match(r.stderr, /\/services\/1\/name: duplicate service name "a"/);
  assert.match(r.stderr, /\/services\/1\/upstream\/targets: at least one target/);
});

test('an empty config file is refused by validate and by a start, naming the file', async () => {
  for (const [name, text] of [
    ['empty.yaml', ''],
    ['comments.yaml', '# everything commented out\n'],
  ]) {
    const file = writeYaml(dir, name, text);
    const r = await runCli(['validate', '--config', file]);
    assert.equal(r.code, 1, r.stdout);
    assert.ok(r.stderr.includes(`${file} holds no config: it is empty`), r.stderr);
    const run = await runCli(['--config', file]);
    assert.equal(run.code, 1, run.stdout);
    assert.ok(run.stderr.includes(`${file} holds no config`), run.stderr);
  }
});

test('validate prints "valid" and exits 0 for a valid file', async () => {
  const file = writeYaml(dir, 'good.yaml', runnable('http://127.0.0.1:9'));
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /good\.yaml: valid/);
});

test('the quick-start example config validates', async () => {
  const r = await runCli(['validate', '--config', join(REPO_ROOT, 'gateway/examples/quickstart.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /quickstart\.yaml: valid/);
});

test('validate refuses a non-loopback admin listener without a token, naming /admin/token', async () => {
  const file = writeYaml(dir, 'open-admin.yaml', { admin: { listen: '0.0.0.0:0' }, services: [] });
  const r = await runCli(['validate', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/admin\/token: required/);
  // Running it is refused the same way, before anything listens.
  const run = await runCli(['--config', file]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /\/admin\/token/);
});

test('TOLLGATE_ADMIN_TOKEN satisfies the token rule and a too-short one is rejected by path', async () => {
  const file = writeYaml(dir, 'open-admin-env.yaml', { admin: { listen: '0.0.0.0:0' }, services: [] });
  const ok = await runCli(['validate', '--config', file], { TOLLGATE_ADMIN_TOKEN: TOKEN });
  assert.equal(ok.code, 0, ok.stderr);
  const short = await runCli(['validate', '--config', file], { TOLLGATE_ADMIN_TOKEN: 'short' });
  assert.equal(short.code, 1);
  assert.match(short.stderr, /\/admin\/token:/);
});

test('TOLLGATE_PROXY_LISTEN and TOLLGATE_ADMIN_TOKEN override the file when running', async () => {
  const up = await startUpstream('env');
  upstreams.push(up);
  // The file's proxy port is taken, so the gateway only starts if the override wins.
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const busyPort = (blocker.address() as { port: number }).port;
  const port = await freePort();
  const file = writeYaml(tempDir(), 'env.yaml', runnable(up.url, { proxy: { listen: `127.0.0.1:${busyPort}` } }));
  const gw = await startGatewayProcess(file, {
    env: { TOLLGATE_PROXY_LISTEN: `127.0.0.1:${port}`, TOLLGATE_ADMIN_TOKEN: TOKEN },
  });
  try {
    assert.equal(gw.proxyUrl, `http://127.0.0.1:${port}`);
    const r = await get(`http://127.0.0.1:${port}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.json().name, 'env');
    assert.equal((await get(`${gw.adminUrl}/services`)).status, 401);
    assert.equal((await get(`${gw.adminUrl}/services`, { token: TOKEN })).status, 200);
  } finally {
    await gw.stop();
    blocker.close();
  }
});

test('tollgate --config serves, and SIGTERM drains an in-flight slow request then exits 0', async () => {
  let arrived!: () => void;
  const slowArrived = new Promise<void>((r) => {
    arrived = r;
  });
  const up = await startUpstream('slow', (_req, res) => {
    arrived();
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow done'), 1000);
  });
  upstreams.push(up);
  const gw = await startGatewayProcess(writeYaml(tempDir(), 'drain.yaml', runnable(up.url)));
  const slow = get(`${gw.proxyUrl}/slow`);
  await slowArrived;
  const signalledAt = Date.now();
  gw.child.kill('SIGTERM');
  await gw.waitForLog((l) => l.msg?.startsWith('shutting down'));
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal(r.text, 'slow done');
  const exit = await gw.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - signalledAt < 10000, 'exits soon after the last request, not at drain_timeout_ms');
  await assert.rejects(get(`${gw.proxyUrl}/after`), 'the proxy listener is closed');
});

test('the quick start (--demo) answers GET /api/hello with the demo echo', async (t) => {
  if (!(await portIsFree(9001)) || !(await portIsFree(9002))) {
    t.skip('127.0.0.1:9001 or :9002 is in use; the demo upstreams need them');
    return;
  }
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const gw = await startGatewayProcess(join(REPO_ROOT, 'gateway/examples/quickstart.yaml'), {
    args: ['--demo'],
    env: {
      TOLLGATE_PROXY_LISTEN: `127.0.0.1:${proxyPort}`,
      TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      TOLLGATE_STORE_DIR: join(tempDir(), 'store'),
    },
  });
  try {
    const r = await get(`http://127.0.0.1:${proxyPort}/api/hello`);
    assert.equal(r.status, 200, r.text);
    const echo = r.json();
    assert.match(echo.upstream, /^127\.0\.0\.1:900[12]$/);
    assert.equal(echo.url, '/hello', 'strip_prefix removed /api');
    assert.equal(echo.method, 'GET');
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});

// docs/tcp.md runs gateway/examples/streams.yaml in front of the services' Redis: the same, on free ports, with a
// real Redis client through the stream.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { REPO_ROOT, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { freePort } from '../helpers/ports.ts';
import { parse } from 'yaml';

const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
const skip = !REDIS_URL && process.env.CI !== 'true' && 'needs Redis (TOLLGATE_TEST_REDIS_URL): npm run services:up';

test('the streams example proxies Redis: a client through the stream sets and gets, and is counted', {
  skip,
}, async () => {
  const redis = new URL(REDIS_URL ?? 'redis://127.0.0.1:6399');
  const dir = tempDir('tollgate-streams-');
  const [proxy, admin, cache] = await Promise.all([freePort(), freePort(), freePort()]);
  const config = parse(readFileSync(join(REPO_ROOT, 'gateway/examples/streams.yaml'), 'utf8'));
  config.proxy.listen = `127.0.0.1:${proxy}`;
  config.admin.listen = `127.0.0.1:${admin}`;
  config.streams[0].listen = `127.0.0.1:${cache}`;
  config.streams[0].upstream.targets = [{ url: `tcp://${redis.hostname}:${redis.port}` }];
  const gw = await startGatewayProcess(writeYaml(dir, 'streams.yaml', config), {
    env: { TOLLGATE_STORE_DIR: join(dir, 'store'), TOLLGATE_EVENTS_DIR: join(dir, 'events') },
  });
  const client = new Redis({ host: '127.0.0.1', port: cache, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    assert.equal(await client.ping(), 'PONG');
    const key = `tollgate:streams-example:${process.pid}`;
    await client.set(key, 'through the gateway', 'EX', 60);
    assert.equal(await client.get(key), 'through the gateway');
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /tollgate_stream_connections\{stream="cache"\} 1/);
    assert.match(metrics, /tollgate_stream_bytes_total\{stream="cache",direction="in"\} [1-9]/);
    assert.match(metrics, /tollgate_upstream_target_healthy\{service="cache",target="tcp:\/\/[^"]+"\} 1/);
  } finally {
    client.disconnect();
    await gw.stop();
  }
});

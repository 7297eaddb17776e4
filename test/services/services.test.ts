// Smoke tests of the real services scripts/services.sh starts, so a suite that
// builds on ClickHouse, Kafka or promtool fails here first, with a plain reason,
// when the service itself is missing or broken.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';

const KAFKA_TIMEOUT_MS = 60_000;
// promtool prints its version in ~30 ms, but one CI run on a loaded machine killed it at a 10 s bound with nothing
// printed; this smoke test is about whether it runs, so it gets the bound test/alerts/promtool.test.ts gives it.
const PROMTOOL_TIMEOUT_MS = 60_000;

// The variable's value, or undefined after marking the test skipped; with
// CI=true no service may be missing, so an unset variable fails the test.
function serviceEnv(t: TestContext, name: string): string | undefined {
  const value = process.env[name];
  if (value) return value;
  if (process.env.CI === 'true') {
    assert.fail(`${name} is unset but CI=true: every service suite must run in CI (npm run services:up)`);
  }
  t.skip(`${name} is unset; start the services with \`npm run services:up\` and export the line it prints`);
  return undefined;
}

test('ClickHouse answers SELECT version() over HTTP', async (t) => {
  const url = serviceEnv(t, 'TOLLGATE_TEST_CLICKHOUSE_URL');
  if (!url) return;
  const res = await fetch(`${url}/?query=${encodeURIComponent('SELECT version()')}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.match(body.trim(), /^\d+\.\d+\.\d+/);
});

test('Kafka returns a message produced to a new topic to a consumer', { timeout: KAFKA_TIMEOUT_MS }, async (t) => {
  const brokers = serviceEnv(t, 'TOLLGATE_TEST_KAFKA_BROKERS');
  if (!brokers) return;
  const bootstrapBrokers = brokers.split(',');
  const topic = `tollgate-smoke-${randomUUID()}`;
  const value = `hello ${randomUUID()}`;

  // The producer's metadata request creates the topic, which is what the
  // broker's auto.create.topics.enable=true promises the collector tests.
  const producer = new Producer({
    clientId: 'tollgate-smoke-producer',
    bootstrapBrokers,
    serializers: stringSerializers,
    autocreateTopics: true,
  });
  const consumer = new Consumer({
    clientId: 'tollgate-smoke-consumer',
    groupId: `tollgate-smoke-${randomUUID()}`,
    bootstrapBrokers,
    deserializers: stringDeserializers,
  });
  const admin = new Admin({ clientId: 'tollgate-smoke-admin', bootstrapBrokers });
  t.after(async () => {
    await producer.close();
    await consumer.close(true);
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.close();
  });

  await producer.send({ messages: [{ topic, key: 'smoke', value }] });

  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
  let received: string | undefined;
  for await (const message of stream) {
    received = message.value;
    break;
  }
  await stream.close();
  assert.equal(received, value);
});

test('promtool --version exits 0', async (t) => {
  const promtool = serviceEnv(t, 'TOLLGATE_TEST_PROMTOOL');
  if (!promtool) return;
  const started = performance.now();
  const child = spawn(promtool, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  // Should it hang, what its threads wait in says why (a blocking read, the disk, the entropy pool) before the kill.
  let stuck = '';
  const timer = setTimeout(() => {
    stuck = whereStuck(child.pid!);
    child.kill();
  }, PROMTOOL_TIMEOUT_MS);
  let code: number | null;
  try {
    [code] = (await once(child, 'exit')) as [number | null]; // rejects on a spawn error (ENOENT)
  } finally {
    clearTimeout(timer);
  }
  const tookMs = Math.round(performance.now() - started);
  t.diagnostic(`promtool --version took ${tookMs} ms`);
  assert.ok(
    stuck === '',
    `promtool --version was killed after ${tookMs} ms, printing ${JSON.stringify(output)}; ${stuck}`,
  );
  assert.equal(code, 0, output);
  assert.match(output, /promtool, version \d+\.\d+/);
});

/** A process's state and each thread's wait channel, from /proc. */
function whereStuck(pid: number): string {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? 'unreadable';
    }
  };
  const state = read(`/proc/${pid}/status`).match(/^State:\s*(.*)$/m)?.[1] ?? 'gone';
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {}
  const waits = tasks.map((tid) => `${tid} ${read(`/proc/${pid}/task/${tid}/wchan`)}`).join(', ');
  return `state ${state}; threads waiting in: ${waits || 'none'}`;
}

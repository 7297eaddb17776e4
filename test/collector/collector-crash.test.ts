import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encode } from '../../shared/access-event-codec.ts';
import { makeEvents, readReports, totalRequests } from './events.ts';
import type { Scratch } from './services.ts';
import { committedOffsets, produce, skipWithoutServices as skip, waitFor, withScratch } from './services.ts';

const MAIN = fileURLToPath(new URL('../../collector/cluster/main.ts', import.meta.url));

interface Running {
  child: ChildProcess;
  output: string[];
}

function startCollectorProcess(s: Scratch): Running {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      TOLLGATE_KAFKA_BROKERS: s.brokers.join(','),
      TOLLGATE_CLICKHOUSE_URL: s.clickhouseUrl,
      TOLLGATE_CLICKHOUSE_DATABASE: s.database,
      TOLLGATE_COLLECTOR_TOPIC: s.topic,
      TOLLGATE_COLLECTOR_GROUP: s.groupId,
      TOLLGATE_COLLECTOR_METRICS_LISTEN: '127.0.0.1:0',
      // Small batches so a kill lands between, and inside, many flushes.
      TOLLGATE_COLLECTOR_BATCH_EVENTS: '150',
      TOLLGATE_COLLECTOR_BATCH_WAIT_MS: '20',
      // The broker's minimum: a killed member's partitions move on sooner.
      TOLLGATE_COLLECTOR_SESSION_TIMEOUT_MS: '6000',
      TOLLGATE_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output };
}

async function kill(running: Running): Promise<void> {
  if (running.child.exitCode !== null) assert.fail(`collector exited early:\n${running.output.join('')}`);
  const exited = once(running.child, 'exit');
  running.child.kill('SIGKILL');
  await exited;
}

test('gives identical numbers when the collector is SIGKILLed mid-stream and restarted, twice', { skip, timeout: 120_000 }, async () => {
  await withScratch(3, async (s) => {
    const events = makeEvents(9000);
    const records = events.map((e, i) => ({ partition: i % 3, value: encode(e) }));
    await produce(s.brokers, s.topic, records);
    let running = startCollectorProcess(s);
    try {
      for (const fraction of [0.2, 0.5]) {
        const atKill = await waitFor(`${fraction * 100}% counted`, async () => {
          const n = await totalRequests(s.db);
          return n >= fraction * events.length && n;
        }, 60_000, 20);
        await kill(running);
        assert.ok(atKill < events.length, 'the kill must land before the end of the stream for this test to mean anything');
        running = startCollectorProcess(s);
      }
      await waitFor('every offset committed', async () => {
        const committed = await committedOffsets(s.brokers, s.groupId, s.topic);
        return [0, 1, 2].every((p) => committed.get(p) === 3000);
      }, 60_000);
      const reports = await readReports(s.db, events);
      assert.deepEqual(reports.actual, reports.expected);
      assert.deepEqual(reports.aggregate, reports.raw);

      const exited = once(running.child, 'exit');
      running.child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, running.output.join(''));
    } finally {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    }
  });
});

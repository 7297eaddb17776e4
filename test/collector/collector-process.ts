import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { totalRequests } from '../../collector/clickhouse/test-clickhouse.ts';
import { waitFor, type Scratch } from './services.ts';

const MAIN = fileURLToPath(new URL('../../collector/cluster/main.ts', import.meta.url));

export interface CollectorProcess {
  child: ChildProcess;
  output: string[];
}

/**
 * Runs `collector/cluster/main.ts` as a child process against a scratch topic
 * and database, with small batches so a kill lands between, and inside, many
 * flushes. `env` adds or overrides settings (Redis, for example).
 */
export function startCollectorProcess(s: Scratch, env: Record<string, string> = {}): CollectorProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      TOLLGATE_KAFKA_BROKERS: s.brokers.join(','),
      TOLLGATE_CLICKHOUSE_URL: s.clickhouseUrl,
      TOLLGATE_CLICKHOUSE_DATABASE: s.database,
      TOLLGATE_COLLECTOR_TOPIC: s.topic,
      TOLLGATE_COLLECTOR_GROUP: s.groupId,
      TOLLGATE_COLLECTOR_METRICS_LISTEN: '127.0.0.1:0',
      TOLLGATE_COLLECTOR_BATCH_EVENTS: '150',
      TOLLGATE_COLLECTOR_BATCH_WAIT_MS: '20',
      // The broker's minimum: a killed member's partitions move on sooner.
      TOLLGATE_COLLECTOR_SESSION_TIMEOUT_MS: '6000',
      TOLLGATE_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output };
}

/** SIGKILLs a running collector; fails the test if it had already exited on its own. */
export async function killCollector(running: CollectorProcess): Promise<void> {
  if (running.child.exitCode !== null) assert.fail(`collector exited early:\n${running.output.join('')}`);
  const exited = once(running.child, 'exit');
  running.child.kill('SIGKILL');
  await exited;
}

/**
 * Starts a collector, SIGKILLs it once 20% and again once 50% of `total`
 * events are counted, restarting it each time; returns the third, running one.
 */
export async function crashTwiceMidStream(
  s: Scratch,
  total: number,
  env: Record<string, string> = {},
): Promise<CollectorProcess> {
  let running = startCollectorProcess(s, env);
  try {
    for (const fraction of [0.2, 0.5]) {
      const atKill = await waitFor(
        `${fraction * 100}% counted`,
        async () => {
          const n = await totalRequests(s.db);
          return n >= fraction * total && n;
        },
        60_000,
        20,
      );
      await killCollector(running);
      assert.ok(atKill < total, 'the kill must land before the end of the stream for this test to mean anything');
      running = startCollectorProcess(s, env);
    }
    return running;
  } catch (err) {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    throw err;
  }
}

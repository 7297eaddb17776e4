import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Scratch } from './services.ts';

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

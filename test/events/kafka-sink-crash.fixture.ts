// Run by kafka-sink-crash.test.ts: a gateway's Kafka sink whose broker is gone,
// emitting numbered events as fast as it can until it is killed. It prints how
// many of them the log has written (those survive SIGKILL in the page cache).
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import { createKafkaSink } from '../../gateway/proxy/events/kafka/index.ts';
import { numberedEvent, sinkConfig, testMetrics } from './kafka-helpers.ts';

async function emitUntilKilled(dir: string, port: number): Promise<void> {
  const { metrics } = testMetrics();
  const sink = await createKafkaSink(
    sinkConfig({ brokers: [`127.0.0.1:${port}`], topic: 'tollgate-unreachable', dir, timeoutMs: 1000 }),
    metrics,
    pino({ level: 'silent' }),
  );
  while (sink.state !== 'down') await new Promise((resolve) => setTimeout(resolve, 5));
  setInterval(() => process.stdout.write(`written ${sink.logStats.written} dropped ${sink.logStats.dropped}\n`), 2);
  for (let index = 0; ; ) {
    for (let i = 0; i < 500; i++) sink.emit(numberedEvent(index++));
    await nextTurn();
  }
}

if (import.meta.main) await emitUntilKilled(process.argv[2], Number(process.argv[3]));

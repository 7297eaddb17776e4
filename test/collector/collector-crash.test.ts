import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { encode } from '../../shared/access-event-codec.ts';
import { makeEvents, readReports } from './events.ts';
import { crashTwiceMidStream } from './collector-process.ts';
import { committedOffsets, produce, skipWithoutServices as skip, waitFor, withScratch } from './services.ts';

test('gives identical numbers when the collector is SIGKILLed mid-stream and restarted, twice', {
  skip,
  timeout: 120_000,
}, async () => {
  await withScratch(3, async (s) => {
    const events = makeEvents(9000);
    const records = events.map((e, i) => ({ partition: i % 3, value: encode(e) }));
    await produce(s.brokers, s.topic, records);
    const running = await crashTwiceMidStream(s, events.length);
    try {
      await waitFor(
        'every offset committed',
        async () => {
          const committed = await committedOffsets(s.brokers, s.groupId, s.topic);
          return [0, 1, 2].every((p) => committed.get(p) === 3000);
        },
        60_000,
      );
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

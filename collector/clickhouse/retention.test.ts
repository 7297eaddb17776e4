import { test } from 'node:test';
import assert from 'node:assert/strict';
import { supportsTableTtl } from './http-client.ts';
import { migrate } from './migrate.ts';
import { enforceRetention } from './retention.ts';
import { skipWithoutClickHouse, withScratchDatabase } from './test-clickhouse.ts';

const DAY_S = 86_400;

test('keeps raw events inside the retention and removes the older days', { skip: skipWithoutClickHouse }, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database, retentionDays: 30 });
    const db = client.withDatabase(database);
    const nowS = Math.floor(Date.now() / 1000);
    const ages = [40, 31, 29, 0];
    await db.insert(
      'access_events',
      ages.map((days) => ({ event_id: `age-${days}`, ts: nowS - days * DAY_S })),
    );

    const result = await enforceRetention(client, { database, retentionDays: 30 });
    if (supportsTableTtl(await client.serverVersion())) {
      assert.equal(result.mode, 'ttl');
      // TTL deletes on merge; force one so the outcome is observable now.
      await db.exec('OPTIMIZE TABLE access_events FINAL');
    } else {
      assert.equal(result.mode, 'partition_drop');
      assert.equal(result.droppedPartitions.length, 2);
    }
    const kept = await db.query<{ event_id: string }>('SELECT event_id FROM access_events ORDER BY event_id');
    assert.deepEqual(
      kept.map((row) => row.event_id),
      ['age-0', 'age-29'],
    );
    const again = await enforceRetention(client, { database, retentionDays: 30 });
    assert.deepEqual(again.droppedPartitions, []);
  });
});

test('moves an existing TTL to a changed retention where the server has table TTL', {
  skip: skipWithoutClickHouse,
}, async (t) => {
  await withScratchDatabase(async (client, database) => {
    if (!supportsTableTtl(await client.serverVersion())) {
      t.skip('this ClickHouse has no table TTL; retention is by partition drops');
      return;
    }
    await migrate({ client, database, retentionDays: 30 });
    const result = await enforceRetention(client, { database, retentionDays: 7 });
    assert.equal(result.ttlUpdated, true);
    const [table] = await client.query<{ engine_full: string }>(
      `SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = 'access_events'`,
    );
    assert.match(table.engine_full, /TTL ts \+ toIntervalDay\(7\)/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../shared/access-event-codec.ts';
import { sampleEvent } from '../aggregate/sample-event.fixture.ts';
import { RecentEvents } from './recent-events.ts';

test('keeps the newest records in a fixed ring and answers them newest first, as decoded events', () => {
  const ring = new RecentEvents(4, 512);
  for (let i = 0; i < 10; i++) ring.add(encode(sampleEvent({ startMs: 1_700_000_000_000 + i, status: 200 + i })));
  const newest = ring.newest({ limit: 10 });
  assert.deepEqual(
    newest.map((e) => e.status),
    [209, 208, 207, 206],
  );
  assert.equal(newest[0].time, new Date(1_700_000_000_009).toISOString());
  assert.deepEqual(
    ring.newest({ limit: 2, statusFrom: 200, statusTo: 207 }).map((e) => e.status),
    [207, 206],
  );
});

test('a record longer than a slot is left out, not cut', () => {
  const ring = new RecentEvents(4, 160);
  ring.add(encode(sampleEvent({ status: 201 })));
  ring.add(encode(sampleEvent({ status: 202, route: 'r'.repeat(300) })));
  assert.deepEqual(
    ring.newest({ limit: 5 }).map((e) => e.status),
    [201],
  );
});

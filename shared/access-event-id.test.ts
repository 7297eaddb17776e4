import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EventIdGenerator,
  eventIdTimeMs,
  eventIdToBytes,
  newEventId,
  traceIdFromBytes,
  traceIdToBytes,
  uuidFromBytes,
  uuidToBytes,
} from './access-event-id.ts';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('100k ids are unique UUIDv7 text and sort in the order they were made', () => {
  const ids = Array.from({ length: 100_000 }, () => newEventId());
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, UUID7);
  const sorted = [...ids].sort();
  assert.deepEqual(sorted, ids);
});

test('ids made within one millisecond still increase strictly', () => {
  const ids = new EventIdGenerator(() => 1_700_000_000_000);
  let previous = ids.next();
  for (let i = 0; i < 10_000; i++) {
    const id = ids.next();
    assert.ok(id > previous, `${id} after ${previous}`);
    assert.equal(eventIdTimeMs(id), 1_700_000_000_000);
    previous = id;
  }
});

test('ids keep increasing when the wall clock steps back, stamped with the latest time seen', () => {
  let nowMs = 1_700_000_000_500;
  const ids = new EventIdGenerator(() => nowMs);
  const first = ids.next();
  nowMs -= 400;
  const second = ids.next();
  assert.ok(second > first);
  assert.equal(eventIdTimeMs(second), 1_700_000_000_500);
  nowMs += 1000;
  const third = ids.next();
  assert.ok(third > second);
  assert.equal(eventIdTimeMs(third), 1_700_000_001_100);
});

test('an id carries the millisecond it was made in its first 48 bits', () => {
  const before = Date.now();
  const timeMs = eventIdTimeMs(newEventId());
  assert.ok(timeMs !== undefined && timeMs >= before && timeMs <= Date.now());
  assert.equal(eventIdTimeMs('not-an-id'), undefined);
  assert.equal(eventIdTimeMs('01890a5d-ac96-474b-bcce-b302099a8057'), undefined); // version 4
});

test('two generators in the same millisecond do not collide', () => {
  const a = new EventIdGenerator(() => 1_700_000_000_000);
  const b = new EventIdGenerator(() => 1_700_000_000_000);
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) seen.add(a.next()).add(b.next());
  assert.equal(seen.size, 20_000);
});

test('canonical UUID text round-trips through 16 bytes and any other text is refused', () => {
  const out = new Uint8Array(20);
  for (let i = 0; i < 100; i++) {
    const id = newEventId();
    assert.ok(uuidToBytes(id, out, 3));
    assert.equal(uuidFromBytes(out, 3), id);
  }
  const v4 = '01890a5d-ac96-474b-bcce-b302099a8057';
  assert.ok(uuidToBytes(v4, out, 0));
  assert.equal(Buffer.from(out.subarray(0, 16)).toString('hex'), v4.replaceAll('-', ''));
  for (const text of [
    v4.toUpperCase(),
    v4.replaceAll('-', ''),
    `${v4}0`,
    v4.replace('-', '_'),
    v4.replace('a', 'g'),
    '',
  ]) {
    assert.equal(uuidToBytes(text, out, 0), false, text);
  }
});

test('W3C trace ids round-trip through 16 bytes; uppercase or wrong lengths are refused', () => {
  const out = new Uint8Array(16);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  assert.ok(traceIdToBytes(traceId, out, 0));
  assert.equal(traceIdFromBytes(out, 0), traceId);
  for (const text of [traceId.toUpperCase(), traceId.slice(1), `${traceId}0`, traceId.replace('f', 'x'), '']) {
    assert.equal(traceIdToBytes(text, out, 0), false, text);
  }
});

test('eventIdToBytes copies the id just made and parses any other id, with the same bytes either way', () => {
  const older = newEventId();
  const latest = newEventId();
  for (const id of [latest, older, latest.toUpperCase(), '']) {
    const copied = new Uint8Array(16);
    const parsed = new Uint8Array(16);
    assert.equal(eventIdToBytes(id, copied, 0), uuidToBytes(id, parsed, 0), id);
    assert.deepEqual(copied, parsed, id);
  }
  const out = new Uint8Array(16);
  assert.equal(eventIdToBytes(latest, out, 0), true);
  assert.equal(uuidFromBytes(out, 0), latest);
});

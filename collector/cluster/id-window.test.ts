import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventIdGenerator, uuidToBytes } from '../../shared/access-event-id.ts';
import { IdWindow } from './id-window.ts';

function bytesOf(id: string): Uint8Array {
  const out = new Uint8Array(16);
  assert.ok(uuidToBytes(id, out, 0));
  return out;
}

test('answers the first offset of a remembered id, by bytes or by text, and -1 for an unknown one', () => {
  const window = new IdWindow(16);
  const ids = new EventIdGenerator();
  const a = ids.next();
  window.rememberBytes(bytesOf(a), 0, 7, 0);
  window.rememberText('not-a-uuid', 8, 0);
  assert.equal(window.firstOfBytes(bytesOf(a), 0), 7);
  assert.equal(window.firstOfText(a), 7);
  assert.equal(window.firstOfText('not-a-uuid'), 8);
  assert.equal(window.firstOfText(ids.next()), -1);
  assert.equal(window.size, 2);
});

test('agrees with a Map over 200,000 ids while it grows, wraps and forgets those below the window', () => {
  const window = new IdWindow(16);
  const ids = new EventIdGenerator();
  const reference = new Map<string, number>();
  const all: string[] = [];
  const span = 5000;
  for (let offset = 0; offset < 200_000; offset++) {
    const id = ids.next();
    all.push(id);
    window.rememberText(id, offset, offset - span);
    reference.set(id, offset);
    if (offset % 997 === 0) {
      for (let k = 0; k < 50; k++) {
        const probe = all[Math.floor(Math.random() * all.length)];
        const first = reference.get(probe)!;
        assert.equal(window.firstOfText(probe), first >= offset - span ? first : -1, `${probe} at ${offset}`);
      }
    }
  }
  assert.equal(window.size, span + 1);
  window.clear();
  assert.equal(window.firstOfText(all[all.length - 1]), -1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUuid, uuidText, uuidTextBuffer } from './uuid-text.ts';
import { uuidFromBytes, uuidToBytes } from './access-event-id.ts';

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('random ids are unique version-4 UUID text, across many refills of the entropy pool', () => {
  const ids = Array.from({ length: 100_000 }, () => randomUuid());
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, UUID4);
});

test('every random hex digit is used about equally (no byte left unset or repeated)', () => {
  // The 30 random hex digits of each id (version and variant digits left out) over 20,000 ids.
  const counts = new Array(16).fill(0);
  for (let i = 0; i < 20_000; i++) {
    const id = randomUuid().replaceAll('-', '');
    for (let j = 0; j < 32; j++) if (j !== 12 && j !== 16) counts[parseInt(id[j], 16)]++;
  }
  const expected = (20_000 * 30) / 16;
  for (const c of counts) assert.ok(Math.abs(c - expected) < expected * 0.03, `${c} against ${expected}`);
});

test('uuidText writes the canonical text of any 16 bytes, as uuidFromBytes does', () => {
  const bytes = new Uint8Array(20);
  const text = uuidTextBuffer();
  for (let n = 0; n < 1000; n++) {
    for (let i = 0; i < 20; i++) bytes[i] = (n * 31 + i * 17) & 0xff;
    const id = uuidText(bytes, 3, text);
    assert.equal(id, uuidFromBytes(bytes, 3));
    const back = new Uint8Array(16);
    assert.ok(uuidToBytes(id, back, 0));
    assert.deepEqual(back, bytes.subarray(3, 19));
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../shared/access-event-codec.ts';
import { sampleEvent } from '../aggregate/sample-event.fixture.ts';
import { emptyView, readEvent } from '../aggregate/event-view.ts';
import { SourceTotals } from './source-totals.ts';

const OPTIONS = { latenessMs: 48 * 3600_000, dedupOffsets: 10 };
const NOW = Date.UTC(2025, 2, 10, 14);
const id = (n: number) => `0195f0a0-0000-7000-8000-${String(n).padStart(12, '0')}`;

test(
  'a key counted after a snapshot stays dirty when the earlier ' +
    'snapshot is marked written (the next batch is counted during a write)',
  () => {
    const totals = new SourceTotals('kafka:t:0', OPTIONS);
    totals.count(sampleEvent({ id: id(1) }), 0, NOW);
    const first = totals.dirtyRows();
    assert.equal(first.hourly.length, 1);
    totals.count(sampleEvent({ id: id(2) }), 1, NOW);
    const second = totals.dirtyRows();
    totals.markWritten(first.snapshot);
    assert.equal(totals.dirtyRows().hourly[0]?.requests, 2, 'the second count is still to be written');
    totals.markWritten(second.snapshot + 1);
    assert.equal(totals.dirtyRows().hourly.length, 0);
  },
);

test('countView drops a re-sent id by its bytes within dedupOffsets and counts it again beyond', () => {
  const totals = new SourceTotals('kafka:t:0', OPTIONS);
  const view = emptyView();
  const at = (offset: number, n: number) => {
    readEvent(encode(sampleEvent({ id: id(n) })), view);
    return totals.countView(view, offset, NOW);
  };
  assert.equal(at(0, 1), 'counted');
  assert.equal(at(0, 1), 'redelivered', 'the same record again');
  assert.equal(at(5, 1), 'duplicate');
  for (let offset = 6; offset < 20; offset++) at(offset, 100 + offset);
  assert.equal(at(20, 1), 'counted', 'first seen 20 offsets back, outside the window of 10');
  assert.equal(
    totals.count(sampleEvent({ id: id(1) }), 21, NOW),
    'duplicate',
    'the text path sees the id the bytes path remembered',
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode } from '../../shared/access-event-codec.ts';
import { EVENTS, v1Record, v2Record } from '../aggregate/event-view.fixture.ts';
import { emptyView, readEvent } from '../aggregate/event-view.ts';
import { RAW_INSERT_TSV, rawRowTsv, tsvString } from './raw-rows.ts';
import { RawTsvBody } from './raw-tsv.ts';

const SOURCE = 'kafka:t:0';

test('writes the same raw-row bytes as rawRowTsv of the decoded event, fast path and fallback alike', () => {
  const body = new RawTsvBody();
  body.reset();
  const view = emptyView();
  let expected = RAW_INSERT_TSV;
  EVENTS.forEach((event, i) => {
    readEvent(encode(event), view);
    body.add(view, Buffer.from(tsvString(SOURCE)), 1000 + i);
    expected += rawRowTsv(decode(encode(event)), tsvString(SOURCE), 1000 + i);
  });
  const v1 = v1Record(EVENTS[1]);
  readEvent(v1, view);
  assert.equal(view.event, undefined, 'a v1 record takes the fast path too');
  assert.deepEqual([view.protocol, view.grpcStatus, view.messagesIn], ['http/1.1', -1, 0]);
  body.add(view, Buffer.from(tsvString(SOURCE)), 7);
  expected += rawRowTsv(decode(v1), tsvString(SOURCE), 7);
  const v2 = v2Record(EVENTS[1]);
  readEvent(v2, view);
  assert.equal(view.event, undefined, 'a v2 record takes the fast path too');
  assert.deepEqual([view.closeCode, view.interim, view.closeReasonLen], [0, false, 0]);
  body.add(view, Buffer.from(tsvString(SOURCE)), 8);
  expected += rawRowTsv(decode(v2), tsvString(SOURCE), 8);
  assert.equal(body.rows, EVENTS.length + 2);
  assert.equal(body.body().toString('utf8'), expected);
  body.reset();
  assert.equal(body.body().toString('utf8'), RAW_INSERT_TSV);
});

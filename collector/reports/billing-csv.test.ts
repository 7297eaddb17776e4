import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qpdCsv, type QpdRow } from './billing.ts';

const row = (app_id: string): QpdRow => ({
  date: '2026-11-01',
  app_id,
  requests: 3,
  billable_requests: 2,
  final: true,
  http1_requests: 3,
  h2_requests: 0,
  grpc_requests: 0,
  websocket_requests: 0,
});

test('billing CSV: an app id a spreadsheet would run as a formula is written as text', () => {
  const ids = ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', 'acme', 'a=b'];
  const lines = qpdCsv(ids.map(row)).split('\r\n').slice(1, -1);
  assert.deepEqual(lines, [
    `2026-11-01,"'=HYPERLINK(""http://evil.example"",""x"")",3,2,true,3,0,0,0`,
    "2026-11-01,'+1+1,3,2,true,3,0,0,0",
    "2026-11-01,'-2+3,3,2,true,3,0,0,0",
    "2026-11-01,'@SUM(A1),3,2,true,3,0,0,0",
    "2026-11-01,'\tx,3,2,true,3,0,0,0",
    '2026-11-01,acme,3,2,true,3,0,0,0',
    '2026-11-01,a=b,3,2,true,3,0,0,0',
  ]);
});

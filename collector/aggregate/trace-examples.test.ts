import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AccessEvent } from '../../shared/access-event.ts';
import { encode } from '../../shared/access-event-codec.ts';
import { emptyView, readEvent } from './event-view.ts';
import { SAMPLE_START_MS, sampleEvent } from './sample-event.fixture.ts';
import { rankExamples, TraceExamples } from './trace-examples.ts';

const HOUR = 3_600_000;
const hourOf = (ms: number) => Math.floor(ms / HOUR) * HOUR;
const trace = (n: number) => n.toString(16).padStart(32, '0');

function examplesOf(events: AccessEvent[]): TraceExamples {
  const examples = new TraceExamples();
  const view = emptyView();
  for (const e of events) {
    readEvent(encode(e), view);
    examples.add(view);
  }
  return examples;
}

test('per hour, app and service: the slowest traced request below 500 and the slowest at 500 or above', () => {
  const examples = examplesOf([
    sampleEvent({ traceId: trace(1), totalUs: 2000 }),
    sampleEvent({ traceId: trace(2), totalUs: 9000, route: 'slow', status: 404 }),
    sampleEvent({ traceId: '', totalUs: 50_000 }), // not traced: never an example, however slow
    sampleEvent({ traceId: trace(3), totalUs: 4000, status: 503 }),
    sampleEvent({ traceId: trace(4), totalUs: 3000, status: 502 }),
    sampleEvent({ traceId: trace(5), totalUs: 1, service: 'search' }),
    sampleEvent({ traceId: trace(6), totalUs: 1, startMs: SAMPLE_START_MS + HOUR }),
  ]);
  const got = rankExamples(examples.drain(), 10);
  assert.deepEqual(
    got.map((e) => [e.kind, e.service, e.bucketStartMs, e.traceId, e.status, e.totalUs]),
    [
      ['error', 'api', hourOf(SAMPLE_START_MS), trace(3), 503, 4000],
      ['slowest', 'api', hourOf(SAMPLE_START_MS), trace(2), 404, 9000],
      // Equally slow: the earlier hour first.
      ['slowest', 'search', hourOf(SAMPLE_START_MS), trace(5), 200, 1],
      ['slowest', 'api', hourOf(SAMPLE_START_MS) + HOUR, trace(6), 200, 1],
    ],
  );
  assert.equal(got[1].route, 'slow');
  assert.equal(got[1].startMs, SAMPLE_START_MS);
  assert.deepEqual(examples.drain(), [], 'drained: the next batch starts empty');
});

test('a trace id recorded as text and a record only decode() reads (non-ASCII route) give their own values', () => {
  const got = examplesOf([
    sampleEvent({ traceId: 'not-hex-trace', totalUs: 5, route: 'ünï' }),
    sampleEvent({ traceId: trace(7), totalUs: 4, status: 500, route: 'ascii' }),
  ]).drain();
  assert.deepEqual(
    rankExamples(got, 10).map((e) => [e.traceId, e.route]),
    [
      [trace(7), 'ascii'],
      ['not-hex-trace', 'ünï'],
    ],
  );
});

test('ranking cuts at the limit after errors and the slowest', () => {
  const got = examplesOf(
    Array.from({ length: 5 }, (_, i) => sampleEvent({ traceId: trace(i + 1), totalUs: 10 * i, service: `s${i}` })),
  ).drain();
  assert.deepEqual(
    rankExamples(got, 2).map((e) => e.service),
    ['s4', 's3'],
  );
});

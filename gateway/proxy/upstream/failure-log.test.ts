import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamFailureLog, type UpstreamFailure } from './failure-log.ts';

const failure = (target: string, errCode: string, requestId: string): UpstreamFailure => ({
  service: 'svc',
  group: '',
  target,
  request_id: requestId,
  code: 'GW_ERR_UPSTREAM_REFUSED',
  err_code: errCode,
  err: `connect ${errCode}`,
});

test('the first failure of a target and error code is written at once, with its cause and request id', () => {
  const lines: unknown[] = [];
  const log = new UpstreamFailureLog((l) => lines.push(l), 1000);
  log.report(failure('http://127.0.0.1:1', 'ECONNREFUSED', 'r1'));
  assert.deepEqual(lines, [{ ...failure('http://127.0.0.1:1', 'ECONNREFUSED', 'r1'), suppressed: 0 }]);
  log.flush();
});

test(
  'a burst writes one line per target and error code per ' +
    'interval, and the rest as a count on the line that closes it',
  async () => {
    const lines: (UpstreamFailure & { suppressed: number })[] = [];
    const log = new UpstreamFailureLog((l) => lines.push(l), 100);
    for (let i = 0; i < 50; i++) log.report(failure('http://127.0.0.1:1', 'ECONNREFUSED', `a${i}`));
    log.report(failure('http://127.0.0.1:2', 'ECONNREFUSED', 'b0'));
    log.report(failure('http://127.0.0.1:1', 'TOLLGATE_HEADERS_TIMEOUT', 't0'));
    assert.equal(lines.length, 3, 'one line per target and error code so far');
    await sleep(150);
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines[3],
      { ...failure('http://127.0.0.1:1', 'ECONNREFUSED', 'a49'), suppressed: 48 },
      'the newest, with the 48 between',
    );
    const accounted = lines
      .filter((l) => l.err_code === 'ECONNREFUSED' && l.target.endsWith(':1'))
      .reduce((n, l) => n + 1 + l.suppressed, 0);
    assert.equal(accounted, 50, 'every failure is a line or counted on one');
    // A new window opened when that line was written.
    log.report(failure('http://127.0.0.1:1', 'ECONNREFUSED', 'late'));
    assert.equal(lines.length, 4);
    log.flush();
    assert.deepEqual(lines[4], { ...failure('http://127.0.0.1:1', 'ECONNREFUSED', 'late'), suppressed: 0 });
  },
);

test('a lone failure after a quiet interval is written at once', async () => {
  const lines: unknown[] = [];
  const log = new UpstreamFailureLog((l) => lines.push(l), 30);
  log.report(failure('http://127.0.0.1:1', 'ECONNREFUSED', 'r1'));
  await sleep(50);
  log.report(failure('http://127.0.0.1:1', 'ECONNREFUSED', 'r2'));
  assert.equal(lines.length, 2);
});

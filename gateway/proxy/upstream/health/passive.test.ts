import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Target } from '../target.ts';
import { PassiveHealth } from './passive.ts';

const options = { maxFailures: 3, ejectionMs: 1000, failureStatuses: [502, 503, 504] };

test('ejects a target for ejectionMs after maxFailures consecutive failures', () => {
  const events: boolean[] = [];
  const passive = new PassiveHealth(options, (_t, ejected) => events.push(ejected));
  const target = new Target('http://127.0.0.1:9001');
  passive.recordFailure(target, 100);
  passive.recordFailure(target, 110);
  assert.equal(target.ejectedUntil, 0);
  assert.equal(target.available(110), true);

  passive.recordFailure(target, 120);
  assert.equal(target.ejectedUntil, 1120);
  assert.equal(target.available(1119), false);
  assert.equal(target.available(1120), true);
  assert.deepEqual(events, [true]);
});

test('a success resets the failure count', () => {
  const passive = new PassiveHealth(options);
  const target = new Target('http://127.0.0.1:9001');
  passive.recordFailure(target, 100);
  passive.recordFailure(target, 100);
  passive.recordSuccess(target, 100);
  assert.equal(target.consecutiveFailures, 0);
  passive.recordFailure(target, 100);
  passive.recordFailure(target, 100);
  assert.equal(target.ejectedUntil, 0);
});

test('failures of requests in flight at ejection do not extend it', () => {
  const passive = new PassiveHealth(options);
  const target = new Target('http://127.0.0.1:9001');
  for (let i = 0; i < 3; i++) passive.recordFailure(target, 100);
  passive.recordFailure(target, 500);
  assert.equal(target.ejectedUntil, 1100);
});

test('a target still failing after its rest is ejected again by its first failure', () => {
  const events: boolean[] = [];
  const passive = new PassiveHealth(options, (_t, ejected) => events.push(ejected));
  const target = new Target('http://127.0.0.1:9001');
  for (let i = 0; i < 3; i++) passive.recordFailure(target, 100);
  passive.recordFailure(target, 1200);
  assert.equal(target.ejectedUntil, 2200);
  assert.deepEqual(events, [true, true]);
});

test('a success after the rest ends the ejection and reports it once', () => {
  const events: boolean[] = [];
  const passive = new PassiveHealth(options, (_t, ejected) => events.push(ejected));
  const target = new Target('http://127.0.0.1:9001');
  for (let i = 0; i < 3; i++) passive.recordFailure(target, 100);
  passive.recordSuccess(target, 500);
  assert.equal(target.ejectedUntil, 1100, 'a success during the rest does not cut it short');
  passive.recordSuccess(target, 1200);
  passive.recordSuccess(target, 1300);
  assert.equal(target.ejectedUntil, 0);
  assert.deepEqual(events, [true, false]);
});

test('maxFailures 0 never ejects', () => {
  const passive = new PassiveHealth({ ...options, maxFailures: 0 }, () => assert.fail('no ejection expected'));
  const target = new Target('http://127.0.0.1:9001');
  for (let i = 0; i < 100; i++) passive.recordFailure(target, 100);
  assert.equal(target.ejectedUntil, 0);
});

test('isFailureStatus matches exactly the configured statuses', () => {
  const passive = new PassiveHealth(options);
  assert.equal(passive.isFailureStatus(503), true);
  assert.equal(passive.isFailureStatus(500), false);
  assert.equal(passive.isFailureStatus(200), false);
});

test('a lone target is never ejected under a cap below 100%: its failures count as overflow instead', () => {
  const target = new Target('http://127.0.0.1:9001');
  let overflows = 0;
  const passive = new PassiveHealth(
    { ...options, maxEjectedPercent: 50 },
    () => assert.fail('no ejection expected'),
    () => [target],
    () => overflows++,
  );
  for (let i = 0; i < 10; i++) passive.recordFailure(target, 100);
  assert.equal(target.ejectedUntil, 0);
  assert.equal(target.available(100), true);
  assert.equal(overflows, 8, 'every failure from the 3rd on would have ejected it');
});

test('with four targets and a cap of 50%, at most two are ejected at once; a third goes once a rest ends', () => {
  const targets = [1, 2, 3, 4].map((n) => new Target(`http://127.0.0.1:900${n}`));
  const passive = new PassiveHealth({ ...options, maxEjectedPercent: 50 }, undefined, () => targets);
  for (const t of targets) for (let i = 0; i < 3; i++) passive.recordFailure(t, 100);
  assert.deepEqual(
    targets.map((t) => t.available(100)),
    [false, false, true, true],
  );
  passive.recordFailure(targets[2], 1200);
  assert.deepEqual(
    targets.map((t) => t.available(1200)),
    [true, true, false, true],
    'the first two rested; the third is out now',
  );
});

test('a cap of 100% lets every target be ejected', () => {
  const targets = [1, 2].map((n) => new Target(`http://127.0.0.1:900${n}`));
  const passive = new PassiveHealth({ ...options, maxEjectedPercent: 100 }, undefined, () => targets);
  for (const t of targets) for (let i = 0; i < 3; i++) passive.recordFailure(t, 100);
  assert.deepEqual(
    targets.map((t) => t.available(100)),
    [false, false],
  );
});

test('a passing active check ends an ejection for unreachability, if it started after the ejection', () => {
  const events: boolean[] = [];
  const passive = new PassiveHealth(options, (_t, ejected) => events.push(ejected));
  const target = new Target('http://127.0.0.1:9001');
  for (let i = 0; i < 3; i++) passive.recordFailure(target, 100, true);
  assert.equal(target.ejectedUntil, 1100);
  passive.recordReached(target, 99, 150);
  assert.equal(target.ejectedUntil, 1100, 'a check started before the ejection proves nothing');
  passive.recordReached(target, 100, 160);
  assert.equal(target.ejectedUntil, 0);
  assert.equal(target.available(160), true);
  assert.deepEqual(events, [true, false]);
  // The failure count is kept: a target still broken goes out again on its next failure.
  passive.recordFailure(target, 200, true);
  assert.equal(target.ejectedUntil, 1200);
  assert.deepEqual(events, [true, false, true]);
});

test('a passing active check leaves an ejection for failing statuses or timeouts to run its course', () => {
  const events: boolean[] = [];
  const passive = new PassiveHealth(options, (_t, ejected) => events.push(ejected));
  const target = new Target('http://127.0.0.1:9001');
  passive.recordFailure(target, 100, true);
  passive.recordFailure(target, 100, true);
  passive.recordFailure(target, 100); // the failure that ejects decides: a 503, say
  passive.recordReached(target, 200, 300);
  assert.equal(target.ejectedUntil, 1100);
  assert.deepEqual(events, [true]);
  // Nor does a check on a target that is not ejected report anything.
  const other = new Target('http://127.0.0.1:9002');
  passive.recordReached(other, 200, 300);
  assert.deepEqual(events, [true]);
});

test('a passing check after the rest ran out reports nothing more', () => {
  const events: boolean[] = [];
  const passive = new PassiveHealth(options, (_t, ejected) => events.push(ejected));
  const target = new Target('http://127.0.0.1:9001');
  for (let i = 0; i < 3; i++) passive.recordFailure(target, 100, true);
  passive.recordReached(target, 1200, 1300);
  assert.deepEqual(events, [true]);
});

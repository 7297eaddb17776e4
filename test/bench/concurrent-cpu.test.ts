import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowRatios, type SideBySide } from './concurrent-cpu.ts';

const run = (rows: SideBySide['rows']): SideBySide => ({
  rateRps: 3000,
  windowS: 10,
  warmupS: 10,
  pinning: 'test',
  rows,
});

test('side-by-side ratios pair each window with the same window of the floor', () => {
  const s = run([
    { name: 'bare-undici', cpuUs: [50, 60, 40] },
    { name: 'tollgate', cpuUs: [55, 60, 30] },
  ]);
  assert.deepEqual(windowRatios(s, 'tollgate'), [1.1, 1, 0.75]);
});

test('no ratios for a server whose rate did not hold, or whose windows do not match the floor', () => {
  const held = { name: 'bare-undici', cpuUs: [50, 60] };
  assert.equal(
    windowRatios(run([held, { name: 'tollgate', cpuUs: [55, 60], note: 'rate not held' }]), 'tollgate'),
    undefined,
  );
  assert.equal(windowRatios(run([held, { name: 'tollgate', cpuUs: [55] }]), 'tollgate'), undefined);
  assert.equal(
    windowRatios(
      run([
        { ...held, note: 'rate not held' },
        { name: 'tollgate', cpuUs: [55, 60] },
      ]),
      'tollgate',
    ),
    undefined,
  );
  assert.equal(windowRatios(run([held]), 'tollgate'), undefined);
});

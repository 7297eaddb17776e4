import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { IdleTiering, operatorSetsTiering } from './tiering.ts';

test('operator tiering flags are recognised in argv and NODE_OPTIONS, with - or _', () => {
  assert.equal(operatorSetsTiering(['--max-opt=2'], ''), true);
  assert.equal(operatorSetsTiering(['--max_opt=2'], ''), true);
  assert.equal(operatorSetsTiering([], '--no-maglev'), true);
  assert.equal(operatorSetsTiering([], '--max-semi-space-size=32 --jitless'), true);
  assert.equal(operatorSetsTiering(['--allow-natives-syntax', '--trace-opt'], '--max-semi-space-size=32 --optimize-for-size'), false);
});

// V8's %GetOptimizationStatus bit for "optimised code" (Maglev or TurboFan).
const OPTIMISED = 1 << 4;

/**
 * Runs a hot function in a fresh process that imports startup-tiering.ts (as
 * cli.ts does), in phases: while start-up defers, after
 * endStartupTiering(endOpts), and after wakeTiering(). Returns each status.
 */
function hotFunctionStatus(extraArgs: string[], endOpts: { keepParked?: boolean } = {}): { deferred: boolean; during: number; ended: number; woken: number } {
  const script = `
    const startup = await import(${JSON.stringify(new URL('./startup-tiering.ts', import.meta.url).href)});
    const tiering = await import(${JSON.stringify(new URL('./tiering.ts', import.meta.url).href)});
    const pause = () => new Promise((r) => setTimeout(r, 50));
    function sum(n) { let s = 0; for (let i = 0; i < 50; i++) s += (i * n) % 7; return s; }
    async function heat() { for (let round = 0; round < 10; round++) { for (let i = 0; i < 20000; i++) sum(i); await pause(); } }
    const deferred = tiering.tieringParked;
    await heat();
    const during = %GetOptimizationStatus(sum);
    startup.endStartupTiering(${JSON.stringify(endOpts)});
    await heat();
    const ended = %GetOptimizationStatus(sum);
    tiering.wakeTiering();
    await heat();
    console.log(JSON.stringify({ deferred, during, ended, woken: %GetOptimizationStatus(sum) }));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...extraArgs, '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const bits = (status: number) => status.toString(2);

test('start-up runs without the optimising tiers; endStartupTiering() turns them back on', () => {
  const s = hotFunctionStatus([]);
  assert.equal(s.deferred, true);
  assert.equal(s.during & OPTIMISED, 0, `optimised during start-up (status ${bits(s.during)})`);
  assert.notEqual(s.ended & OPTIMISED, 0, `not optimised after start-up (status ${bits(s.ended)})`);
});

test('a process with a data plane ends start-up with the tiers still off; wakeTiering() (its first request) turns them on', () => {
  const s = hotFunctionStatus([], { keepParked: true });
  assert.equal(s.during & OPTIMISED, 0, `optimised during start-up (status ${bits(s.during)})`);
  assert.equal(s.ended & OPTIMISED, 0, `optimised while parked after start-up (status ${bits(s.ended)})`);
  assert.notEqual(s.woken & OPTIMISED, 0, `not optimised once woken (status ${bits(s.woken)})`);
});

test('an operator who sets a tiering flag keeps it: nothing is deferred or parked', () => {
  const s = hotFunctionStatus(['--maglev'], { keepParked: true });
  assert.equal(s.deferred, false);
  assert.notEqual(s.during & OPTIMISED, 0, `not optimised (status ${bits(s.during)})`);
});

/** An IdleTiering on a fake data plane whose park() is counted. */
function watched(quietMs: number) {
  const plane = { served: 0, inflight: 0, parks: 0 };
  const idle = new IdleTiering({ served: () => plane.served, inflight: () => plane.inflight, quietMs, park: () => { plane.parks++; } });
  return { plane, idle };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('IdleTiering parks once no request has come for quietMs to twice that, and not again until armed', async () => {
  const { plane, idle } = watched(40);
  idle.arm();
  await sleep(20);
  assert.equal(plane.parks, 0, 'parked before quietMs');
  await sleep(150);
  assert.equal(plane.parks, 1);
  await sleep(150);
  assert.equal(plane.parks, 1, 'a parked watch has no timer left');
  // The data plane's first request after the spell wakes the tiers and arms the watch again.
  plane.served++;
  idle.arm();
  await sleep(150);
  assert.equal(plane.parks, 2);
  idle.stop();
});

test('IdleTiering does not park while requests keep coming or one is still in flight', async () => {
  const { plane, idle } = watched(40);
  idle.arm();
  const traffic = setInterval(() => { plane.served++; }, 10);
  await sleep(250);
  clearInterval(traffic);
  assert.equal(plane.parks, 0, 'parked under traffic');
  plane.inflight = 1; // one long response, no new request
  await sleep(200);
  assert.equal(plane.parks, 0, 'parked with a request in flight');
  plane.inflight = 0;
  await sleep(150);
  assert.equal(plane.parks, 1);
  idle.stop();
});

test('a stopped IdleTiering never parks', async () => {
  const { plane, idle } = watched(20);
  idle.arm();
  idle.stop();
  await sleep(100);
  assert.equal(plane.parks, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { operatorSetsTiering } from './startup-tiering.ts';

test('operator tiering flags are recognised in argv and NODE_OPTIONS, with - or _', () => {
  assert.equal(operatorSetsTiering(['--max-opt=2'], ''), true);
  assert.equal(operatorSetsTiering(['--max_opt=2'], ''), true);
  assert.equal(operatorSetsTiering([], '--no-maglev'), true);
  assert.equal(operatorSetsTiering([], '--max-semi-space-size=32 --jitless'), true);
  assert.equal(operatorSetsTiering(['--allow-natives-syntax', '--trace-opt'], '--max-semi-space-size=32 --optimize-for-size'), false);
});

// V8's %GetOptimizationStatus bit for "optimised code" (Maglev or TurboFan).
const OPTIMISED = 1 << 4;

/** Runs a hot function while the module's deferral is on, then after endStartupTiering(); returns both statuses. */
function hotFunctionStatus(extraArgs: string[]): { deferred: boolean; during: number; after: number } {
  const script = `
    const tiering = await import(${JSON.stringify(new URL('./startup-tiering.ts', import.meta.url).href)});
    const pause = () => new Promise((r) => setTimeout(r, 50));
    function sum(n) { let s = 0; for (let i = 0; i < 50; i++) s += (i * n) % 7; return s; }
    async function heat() { for (let round = 0; round < 10; round++) { for (let i = 0; i < 20000; i++) sum(i); await pause(); } }
    const deferred = tiering.startupTieringDeferred();
    await heat();
    const during = %GetOptimizationStatus(sum);
    tiering.endStartupTiering();
    await heat();
    console.log(JSON.stringify({ deferred, during, after: %GetOptimizationStatus(sum) }));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...extraArgs, '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

test('start-up runs without the optimising tiers; endStartupTiering() turns them back on', () => {
  const s = hotFunctionStatus([]);
  assert.equal(s.deferred, true);
  assert.equal(s.during & OPTIMISED, 0, `optimised during start-up (status ${s.during.toString(2)})`);
  assert.notEqual(s.after & OPTIMISED, 0, `not optimised after start-up (status ${s.after.toString(2)})`);
});

test('an operator who sets a tiering flag keeps it: nothing is deferred', () => {
  const s = hotFunctionStatus(['--maglev']);
  assert.equal(s.deferred, false);
  assert.notEqual(s.during & OPTIMISED, 0, `not optimised (status ${s.during.toString(2)})`);
});
